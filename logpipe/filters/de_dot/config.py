"""Settings of the ``de_dot`` filter (Logstash's names and defaults)."""
from __future__ import annotations

from pydantic import Field

from logpipe.filters.common import CommonOptions, StrList


class DeDotConfig(CommonOptions):
    """Rewrite field names that contain dots."""

    separator: str = Field("_", description="What replaces each dot (when not `nested`).")
    nested: bool = Field(False, description=(
        "Turn `a.b` into the object `[a][b]` instead of the name `a_b`."))
    fields: StrList = Field(default_factory=list, description=(
        "Only these fields (field references such as `[foo][bar.baz]`). Default: every "
        "field at every depth."))
