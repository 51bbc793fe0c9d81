"""Settings of the ``split`` filter (Logstash's names and defaults)."""
from __future__ import annotations

from pydantic import Field

from logpipe.filters.common import CommonOptions


class SplitConfig(CommonOptions):
    """Turn one event into several: one per line (or item) of a field."""

    field: str = Field("message", description=(
        "Field to split: text is cut at `terminator`, a list gives one event per item."))
    terminator: str = Field("\n", min_length=1, description=(
        "Separator of the pieces of a text field (a plain string, not a pattern)."))
    target: str | None = Field(None, description=(
        "Where each new event gets its piece. Default: the split field itself."))
