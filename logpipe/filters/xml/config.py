"""Settings of the ``xml`` filter (Logstash's names and defaults)."""
from __future__ import annotations

from typing import ClassVar

from pydantic import Field, field_validator, model_validator

from logpipe.filters.common import CommonOptions, StrList

_PARSE_OPTIONS = frozenset({"strict", "recover", "noblanks", "noerror", "nowarning", "nonet",
                            "nocdata", "default_xml"})


def parse_option_names(value: str | None) -> list[str]:
    """``"no_error, NOWARNING|strict"`` -> ``["noerror", "nowarning", "strict"]``."""
    if not value:
        return []
    parts = value.replace("|", ",").split(",")
    return [p.strip().replace("_", "").lower().replace("defaultxml", "default_xml")
            for p in parts if p.strip()]


class XmlConfig(CommonOptions):
    """Parse XML text: into an object (`store_xml`) and/or XPath results into fields."""

    logstash_hashes: ClassVar[tuple[str, ...]] = ("xpath", "namespaces")

    source: str = Field(..., description="Field holding the XML text.")
    target: str | None = Field(None, description=(
        "Where the parsed document goes (required with `store_xml`). The root element's "
        "content becomes this object: attributes and child elements by name, text under "
        "`content`."))
    store_xml: bool = Field(True, description="Write the whole document to `target`.")
    xpath: dict[str, str] = Field(default_factory=dict, description=(
        "XPath expression -> field: the field receives the list of results as text "
        "(elements as XML, attributes and text nodes as their value; a single result "
        "alone when `force_array` is false). Empty results write nothing. Prefixes "
        "declared on the root element can be used without `namespaces`."))
    force_array: bool = Field(True, description=(
        "Every child element's value is a list, even when there is one."))
    force_content: bool = Field(False, description=(
        "Element text always goes under `content`, also for elements without attributes."))
    remove_namespaces: bool = Field(False, description=(
        "Drop namespaces from the document XPath runs on (`/foo/div` finds `<h:div>`); "
        "the stored object keeps its prefixes, as in Logstash."))
    namespaces: dict[str, str] = Field(default_factory=dict, description=(
        "prefix -> URI for the prefixes XPath expressions use."))
    suppress_empty: bool = Field(True, description=(
        "Leave out empty elements; when false they become empty objects."))
    parse_options: str | None = Field(None, description=(
        "Parser options for XPath, separated by commas: `strict` refuses documents that "
        "are not well-formed (by default the XPath parser recovers what it can, as "
        "Logstash's does); `recover`, `noblanks`, `noerror`, `nowarning`, `nonet` are "
        "accepted. `store_xml` always needs well-formed XML."))
    tag_on_failure: StrList = Field(default_factory=lambda: ["_xmlparsefailure"],
                                    description="Tags added when the text is no valid XML.")

    @field_validator("parse_options")
    @classmethod
    def _known_options(cls, value: str | None) -> str | None:
        for option in parse_option_names(value):
            if option not in _PARSE_OPTIONS:
                raise ValueError(f"unsupported parse option: {option!r} (supported: "
                                 f"{', '.join(sorted(_PARSE_OPTIONS))}; entity expansion and "
                                 "DTD loading are never done)")
        return value

    @model_validator(mode="after")
    def _target_when_stored(self) -> XmlConfig:
        if self.store_xml and not self.target:
            raise ValueError("`target` is required when `store_xml` is true")
        return self
