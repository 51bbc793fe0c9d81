"""Settings of the ``sample`` filter."""
from __future__ import annotations

from pydantic import Field, model_validator

from logpipe.core.plugin import PluginConfig
from logpipe.filters.common import StrList


class SampleConfig(PluginConfig):
    """Keep every event that matters; keep 1 in N of the rest, per key."""

    keep_if: StrList = Field(default_factory=list, description=(
        "Conditions (the `if:` language) of events that are always kept, whole: errors, "
        "4xx/5xx, security events, SLO breaches. One that holds is enough."))
    keep_tags: StrList = Field(default_factory=lambda: ["keep"], description=(
        "Events carrying any of these tags are always kept."))
    key: str = Field("", description=(
        "A %{field} template naming the stream an event belongs to (route and status, "
        "say; a missing field reads as `-`). Each key is sampled on its own, so a rare key is not drowned by a "
        "frequent one, and kept/dropped counts are published per key."))
    rate: int = Field(10, ge=1, description=(
        "Keep 1 event in `rate` of each key (1 keeps everything: sampling off). With "
        "`target_per_second` set, this is the highest rate the dynamic mode may reach."))
    target_per_second: float | None = Field(None, gt=0, description=(
        "Dynamic mode: aim for about this many kept events per second per key. A key "
        "quieter than the target is kept whole; a busier one gets a rate of "
        "ceil(events per second / target), re-computed every `window_seconds`."))
    window_seconds: float = Field(10.0, gt=0, description=(
        "How often the dynamic mode re-computes each key's rate from the events it saw."))
    id_fields: StrList = Field(default_factory=lambda: [
        "[trace][id]", "[transaction][id]", "[http][request][id]"], description=(
        "Fields holding a request or trace id, first present wins. Events with an id are "
        "kept or dropped by a hash of it (with `seed`), the same in every worker and "
        "replica, so all events of one request share their fate at a given rate. Events "
        "without one are kept every `rate`-th of their key."))
    seed: str = Field("logpipe", description=(
        "Mixed into the id hash; change it to sample another slice of requests."))
    max_keys: int = Field(1000, ge=1, description=(
        "Keys tracked at once; beyond this, new keys share the key `_other` (bounded "
        "memory and metric series)."))
    rate_field: str = Field("[event][sampling][rate]", description=(
        "Where a kept event records the 1-in-N rate it was sampled at (1: kept whole)."))
    weight_field: str = Field("[event][sampling][weight]", description=(
        "Where a kept event records how many events it stands for: itself plus the "
        "events of its key this worker dropped since the last kept one. Summing it "
        "rebuilds the true counts (a missing weight counts as 1)."))

    @model_validator(mode="after")
    def _check(self) -> SampleConfig:
        if self.rate_field == self.weight_field:
            raise ValueError("rate_field and weight_field must differ")
        return self
