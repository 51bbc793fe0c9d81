"""dedupe: repeats within the window are dropped, by fields or fingerprint, in a
bounded cache; the next event after the window carries the dropped count."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from logpipe.core.event import Event
from logpipe.core.plugin import PluginContext
from logpipe.filters.dedupe import DedupeFilter
from logpipe.runtime.metrics import MetricsRegistry


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def make(clock: Clock, context: PluginContext | None = None, **settings: object) -> DedupeFilter:
    return DedupeFilter(DedupeFilter.Config.model_validate(settings), id="dd", context=context,
                        clock=clock)


def test_repeats_within_the_window_are_dropped_and_counted_later() -> None:
    clock = Clock()
    f = make(clock, fields=["message", "[host][name]"], window_seconds=10, count_field="[event][duplicates]")
    first = f.process([Event({"message": "disk full", "host": {"name": "a"}}),
                       Event({"message": "disk full", "host": {"name": "a"}}),
                       Event({"message": "disk full", "host": {"name": "b"}}),
                       Event({"message": "disk full", "host": {"name": "a"}})])
    assert [e.data["host"]["name"] for e in first] == ["a", "b"]
    clock.now = 11
    later = f.process([Event({"message": "disk full", "host": {"name": "a"}})])
    assert later[0].data["event"]["duplicates"] == 2


def test_fingerprint_field_and_bounded_cache() -> None:
    clock = Clock()
    f = make(clock, fingerprint="[event][hash]", cache_size=2)
    ev = lambda h: Event({"event": {"hash": h}})
    assert len(f.process([ev("x"), ev("y"), ev("x")])) == 2
    f.process([ev("z")])  # pushes out the least recently seen ("y")
    assert len(f.process([ev("y")])) == 1
    assert len(f.process([ev("z")])) == 0


def test_metrics_and_settings() -> None:
    registry = MetricsRegistry()
    f = make(Clock(), PluginContext(pipeline="gm", metrics=registry), fields=["m"])
    f.process([Event({"m": 1}), Event({"m": 1}), Event({"m": 2})])
    (family,) = [x for x in registry.snapshot() if x["name"] == "logpipe_dedupe_events_total"]
    assert {s[0]["decision"]: s[1] for s in family["samples"]} == {"kept": 2, "dropped": 1}
    with pytest.raises(ValidationError):
        make(Clock())
    with pytest.raises(ValidationError):
        make(Clock(), fields=["a"], fingerprint="b")
