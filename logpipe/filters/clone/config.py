"""Settings of the ``clone`` filter (Logstash's names and defaults)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from logpipe.filters.common import CommonOptions, StrList


class CloneConfig(CommonOptions):
    """Make a copy of each event per name in `clones`."""

    clones: StrList = Field(..., description=(
        "One copy of the event per name. With `ecs_compatibility` disabled the copy's "
        "`type` field is set to the name; otherwise the name is added to its `tags`. An "
        "empty list makes no copies."))
    ecs_compatibility: Literal["disabled", "v1", "v8"] = Field("v8", description=(
        "How a copy carries its name: `type` field (disabled) or a tag (v1, v8)."))
