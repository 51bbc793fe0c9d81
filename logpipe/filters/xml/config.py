"""Settings of the ``xml`` filter (Logstash's names and defaults)."""
from __future__ import annotations

from typing import ClassVar

from pydantic import Field, field_validator, model_validator

from logpipe.filters.common import CommonOptions, StrList


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
        "(elements as XML, attributes and text nodes as their value). Empty results "
        "write nothing."))
    force_array: bool = Field(True, description=(
        "Every child element's value is a list, even when there is one."))
    force_content: bool = Field(False, description=(
        "Element text always goes under `content`, also for elements without attributes."))
    remove_namespaces: bool = Field(False, description=(
        "Drop namespace prefixes from element names before storing and XPath."))
    namespaces: dict[str, str] = Field(default_factory=dict, description=(
        "prefix -> URI for the prefixes XPath expressions use."))
    suppress_empty: bool = Field(True, description=(
        "Leave out empty elements; when false they become empty objects."))
    parse_options: str | None = Field(None, description=(
        "`strict` refuses documents that are not well-formed; by default too (there is no "
        "lenient mode)."))
    tag_on_failure: StrList = Field(default_factory=lambda: ["_xmlparsefailure"],
                                    description="Tags added when the text is no valid XML.")

    @field_validator("parse_options")
    @classmethod
    def _strict_only(cls, value: str | None) -> str | None:
        if value not in (None, "", "strict"):
            raise ValueError("parse_options can only be `strict`")
        return value

    @model_validator(mode="after")
    def _target_when_stored(self) -> XmlConfig:
        if self.store_xml and not self.target:
            raise ValueError("`target` is required when `store_xml` is true")
        return self
