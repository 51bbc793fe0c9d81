"""Settings of the ``de_dot`` filter (Logstash's names and defaults)."""
from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from logpipe.filters.common import CommonOptions, StrList


class DeDotConfig(CommonOptions):
    """Rewrite field names that contain dots (for stores that read dots as nesting)."""

    separator: str = Field("_", description=(
        "What replaces each dot (when not `nested`); may not contain a dot."))
    nested: bool = Field(False, description=(
        "Turn `a.b` into the object `[a][b]` instead of the name `a_b`."))
    recursive: bool = Field(False, description=(
        "Also rewrite the names inside objects, at every depth."))
    fields: StrList = Field(default_factory=list, description=(
        "Only these fields (references such as `[foo][bar.baz]`: in brackets a dot is part "
        "of the name). Default: every top-level field."))
    tag_on_failure: str = Field("_de_dot_error", description=(
        "Tag added when a field cannot be rewritten (a value in the way of `nested`)."))

    @field_validator("separator")
    @classmethod
    def _no_dot(cls, value: str) -> str:
        if "." in value:
            raise ValueError("separator cannot be or contain '.'")
        return value

    @classmethod
    def from_logstash(cls, options: dict[str, Any]) -> dict[str, Any]:
        """A bare Logstash field name such as ``a.b`` is one key there: bracket it."""
        out = super().from_logstash(options)
        fields = out.get("fields")
        if fields is not None:
            names = [fields] if isinstance(fields, str) else list(fields)
            out["fields"] = [n if n.startswith("[") else f"[{n}]" for n in names]
        return out
