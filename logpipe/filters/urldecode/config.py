"""Settings of the ``urldecode`` filter (Logstash's names and defaults)."""
from __future__ import annotations

import codecs

from pydantic import Field, field_validator

from logpipe.filters.common import CommonOptions, StrList


class UrldecodeConfig(CommonOptions):
    """Decode `%XX` escapes in a field (or in every top-level field)."""

    field: str = Field("message", description="Field to decode.")
    all_fields: bool = Field(False, description=(
        "Decode every top-level field instead of `field` (text in lists and objects too)."))
    charset: str = Field("UTF-8", description=(
        "Encoding of the decoded bytes (UTF-8, cp1252, ISO-8859-1...); bytes that are not "
        "valid in it become U+FFFD."))
    tag_on_failure: StrList = Field(default_factory=lambda: ["_urldecodefailure"],
                                    description="Tags added when decoding fails.")

    @field_validator("charset")
    @classmethod
    def _known_charset(cls, value: str) -> str:
        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown charset {value!r}") from None
        return value
