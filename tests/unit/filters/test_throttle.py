"""throttle: counts per key within a period that follows the events' timestamps."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from logpipe.core.event import Event
from logpipe.filters.throttle import ThrottleFilter
from tests.unit.filters._filter_helpers import build

T = datetime(2024, 5, 1, tzinfo=timezone.utc)


def events(*specs: tuple[str, float]) -> list[Event]:
    return [Event({"host": h, "@timestamp": T + timedelta(seconds=s)}) for h, s in specs]


def throttled(batch: list[Event]) -> list[bool]:
    return [e.has_tag("throttled") for e in batch]


def test_after_count_per_key_and_period() -> None:
    f = build(ThrottleFilter, key="%{host}", after_count=2, period=60, add_tag="throttled")
    batch = events(("a", 0), ("a", 1), ("b", 2), ("a", 3), ("a", 59), ("a", 61), ("a", 62))
    assert throttled(f.process(batch)) == [False, False, False, True, True, False, False]


def test_slots_are_aligned_on_the_first_event_of_the_key() -> None:
    # key first seen at 10: slots are [10, 70), [70, 130)... even after a gap
    f = build(ThrottleFilter, key="k", after_count=1, period=60, add_tag="throttled")
    batch = events(("a", 10), ("a", 100), ("a", 129), ("a", 131), ("a", 50))
    assert throttled(f.process(batch)) == [False, False, True, False, True]


def test_before_count_and_both() -> None:
    # from the plugin's documentation: before 3, after 5 -> events 1, 2 and 6+ are throttled
    f = build(ThrottleFilter, key="%{host}", before_count=3, after_count=5, period="3600",
              add_tag="throttled")
    batch = events(*[("a", i) for i in range(7)])
    assert throttled(f.process(batch)) == [True, True, False, False, False, True, True]


def test_state_carries_across_batches_and_max_counters() -> None:
    f = build(ThrottleFilter, key="%{host}", after_count=1, period=60, max_counters=2,
              add_tag="throttled")
    assert throttled(f.process(events(("a", 0)))) == [False]
    assert throttled(f.process(events(("a", 1)))) == [True]
    f.process(events(("b", 2), ("c", 3)))            # "a" is the oldest key and goes
    assert throttled(f.process(events(("a", 4)))) == [False]


def test_period_from_event_and_bad_settings() -> None:
    f = build(ThrottleFilter, key="%{host}", after_count=1, period="%{p}", add_tag="throttled")
    batch = [Event({"host": "a", "p": "10", "@timestamp": T}),
             Event({"host": "a", "p": "10", "@timestamp": T + timedelta(seconds=11)}),
             Event({"host": "b", "p": "x", "@timestamp": T}),
             Event({"host": "b", "p": "x", "@timestamp": T + timedelta(seconds=11)})]
    # "x" reads as no number: Logstash's 60 seconds, so b's second event is throttled
    assert throttled(f.process(batch)) == [False, False, False, True]
    with pytest.raises(ValidationError):
        ThrottleFilter.Config(key="k", period="0")
    with pytest.raises(ValidationError):
        ThrottleFilter.Config(key="k", after_count=-5)


def test_common_options_only_on_throttled(**_: Any) -> None:
    f = build(ThrottleFilter, key="k", after_count=1, add_field={"x": "1"})
    out = f.process(events(("a", 0), ("a", 1)))
    assert ["x" in e.data for e in out] == [False, True]


def test_counters_older_than_max_age_are_forgotten() -> None:
    f = build(ThrottleFilter, key="%{host}", after_count=1, period=10, max_age=100,
              add_tag="throttled")
    f.process(events(("old", 0), ("old", 1)))
    f.process(events(("new", 500)))
    assert "old" not in f._counters and "new" in f._counters
