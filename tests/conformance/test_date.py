"""logstash-filter-date's spec cases (data/date/*.yaml) through logpipe's date filter."""
from __future__ import annotations

import pytest

from logpipe.core.conditions import compile_condition
from logpipe.core.event import Event
from logpipe.core.metrics import PluginStats
from logpipe.core.plugin import Filter
from logpipe.core.stages import FilterStage
from logpipe.filters.date import DateFilter
from logpipe.filters.drop import DropFilter
from tests.conformance import harness


def _clock(filt: Filter, case: harness.Case) -> None:
    """``now``: the wall clock the case was written for (dates without a year)."""
    if "now" in case.raw:
        now = harness.instant(case.raw["now"])
        filt.clock = lambda: now  # type: ignore[attr-defined]


def _pipeline(filt: Filter, events: list[Event], case: harness.Case) -> list[Event]:
    """Cancelled events (``[@metadata][cancelled]``) meet a drop filter before the date filter."""
    if not any(e.metadata.get("cancelled") for e in events):
        return filt.process(events)
    cancelled = [(e, dict(e.data)) for e in events if e.metadata.get("cancelled")]
    drop = FilterStage(DropFilter(DropFilter.Config(), id="drop"),
                       compile_condition("[@metadata][cancelled]"), PluginStats("filter", "drop", "drop"))
    date = FilterStage(filt, None, PluginStats("filter", "date", "date"))
    out = date.run(drop.run(events))
    for event, before in cancelled:
        assert event not in out and event.data == before
    return out


@pytest.mark.parametrize("case", harness.params("date"))
def test_date(case: harness.Case) -> None:
    harness.run(case, DateFilter, prepare=_clock, pipeline=_pipeline)
