"""Settings of the ``dedupe`` filter."""
from __future__ import annotations

from pydantic import Field, model_validator

from logpipe.core.plugin import PluginConfig
from logpipe.filters.common import StrList


class DedupeConfig(PluginConfig):
    """Drop an event when an identical one (by fields or fingerprint) passed recently."""

    fields: StrList = Field(default_factory=list, description=(
        "Fields whose values together identify an event (e.g. `message` and "
        "`[host][name]`). A missing field counts as empty."))
    fingerprint: str | None = Field(None, description=(
        "A field that already holds an identity (the fingerprint of an upstream "
        "filter, an event id); used instead of `fields`."))
    cache_size: int = Field(10000, ge=1, description=(
        "Identities remembered at once; the least recently seen is forgotten first."))
    window_seconds: float = Field(60.0, gt=0, description=(
        "An identity seen again within this many seconds is a duplicate; later it "
        "passes again and starts a new window."))
    count_field: str | None = Field(None, description=(
        "When set, nothing is dropped silently from the record: the next event of "
        "an identity after its window closes carries how many duplicates were dropped "
        "in between."))

    @model_validator(mode="after")
    def _one_identity(self) -> DedupeConfig:
        if bool(self.fields) == bool(self.fingerprint):
            raise ValueError("dedupe needs exactly one of `fields` or `fingerprint`")
        return self
