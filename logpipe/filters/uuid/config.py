"""Settings of the ``uuid`` filter (Logstash's names and defaults)."""
from __future__ import annotations

from pydantic import Field

from logpipe.filters.common import CommonOptions


class UuidConfig(CommonOptions):
    """Write a random (version 4) UUID into a field."""

    target: str = Field(..., description="Field that receives the UUID.")
    overwrite: bool = Field(False, description=(
        "Replace a value already in `target`; when false such events keep theirs (a null"
        " value counts as none)."))
