"""Settings of the ``truncate`` filter (Logstash's names and defaults)."""
from __future__ import annotations

from pydantic import Field

from logpipe.filters.common import CommonOptions, StrList


class TruncateConfig(CommonOptions):
    """Cut text to at most `length_bytes` bytes of UTF-8."""

    length_bytes: int = Field(..., ge=0, description=(
        "Largest size in bytes; text is cut at a character boundary at or below it."))
    fields: StrList = Field(default_factory=list, description=(
        "Fields to truncate (text in lists, and objects at every depth, are truncated "
        "inside). Default: every top-level field."))
