"""Conditional stages: which events a plugin sees, the order of the batch after it, counters."""
from __future__ import annotations

import asyncio
from typing import Any, Callable

import pytest

from logpipe.core.conditions import compile_condition
from logpipe.core.event import Event
from logpipe.core.metrics import PluginStats
from logpipe.core.plugin import Filter, Output, PluginConfig
from logpipe.core.stages import ConditionalStage, FilterStage, OutputStage
from logpipe.errors import DeliveryError


class Marking(Filter):
    """Marks what it is given and records each call's batch."""

    def __init__(self) -> None:
        super().__init__(PluginConfig(), id="mark")
        self.calls: list[list[int]] = []

    def process(self, events: list[Event]) -> list[Event]:
        self.calls.append([e.data["n"] for e in events])
        for e in events:
            e.data["seen"] = True
        return events


class Taking(Marking):
    """Marks which branch took an event."""

    def __init__(self, branch: int) -> None:
        super().__init__()
        self.branch = branch

    def process(self, events: list[Event]) -> list[Event]:
        for e in super().process(events):
            e.data["took"] = self.branch
        return events


class Recording(Output):
    def __init__(self) -> None:
        super().__init__(PluginConfig(), id="rec")
        self.calls: list[list[int]] = []

    async def send(self, events: list[Event]) -> None:
        self.calls.append([e.data["n"] for e in events])


def batch(*ns: int) -> list[Event]:
    return [Event({"n": n}) for n in ns]


def stage(predicate: Callable[[Event], Any] | None, *, ordered: bool = False
          ) -> tuple[FilterStage, Marking]:
    plugin = Marking()
    return FilterStage(plugin, predicate, PluginStats("filter", "mark", "mark"), ordered=ordered), plugin


def test_unordered_mixed_batch_goes_to_the_plugin_in_one_call_and_keeps_its_order() -> None:
    s, plugin = stage(compile_condition("[n] >= 3"))
    out = s.run(batch(5, 1, 3, 0, 4, 2))
    assert [e.data["n"] for e in out] == [5, 1, 3, 0, 4, 2]
    assert plugin.calls == [[5, 3, 4]]
    assert [e.data.get("seen", False) for e in out] == [True, False, True, False, True, False]
    assert (s.stats.events_in, s.stats.events_out) == (3, 3)


def test_ordered_mixed_batch_keeps_each_event_in_its_place() -> None:
    s, plugin = stage(compile_condition("[n] >= 3"), ordered=True)
    out = s.run(batch(5, 1, 3, 0, 4, 2))
    assert [e.data["n"] for e in out] == [5, 1, 3, 0, 4, 2]
    assert [e.data.get("seen", False) for e in out] == [True, False, True, False, True, False]
    # The first mixed batch goes run by run (exact whatever the plugin does); once the
    # plugin has shown it returns the events it is given, chosen events go as one batch.
    assert plugin.calls == [[5], [3], [4]]
    out = s.run(batch(1, 7, 2, 8, 3, 9))
    assert [e.data["n"] for e in out] == [1, 7, 2, 8, 3, 9]
    assert plugin.calls[-1] == [7, 8, 3, 9]
    assert (s.stats.events_in, s.stats.events_out) == (7, 7)


def test_batch_all_chosen_goes_whole_and_none_chosen_passes_through() -> None:
    s, plugin = stage(compile_condition("[n] >= 0"))
    events = batch(2, 0, 1)
    assert [e.data["n"] for e in s.run(events)] == [2, 0, 1]
    assert plugin.calls == [[2, 0, 1]] and s.stats.events_in == 3

    s, plugin = stage(compile_condition("[n] > 10"))
    events = batch(2, 0, 1)
    assert s.run(events) is events
    assert plugin.calls == [] and s.stats.events_in == 0 and s.stats.seconds == 0


@pytest.mark.parametrize("ordered", [True, False])
def test_else_if_chain_asks_each_condition_about_the_events_left_and_routes_each_once(ordered: bool) -> None:
    asked: list[list[list[int]]] = [[], [], []]

    def asking(i: int, cond: str) -> Callable[[Event], Any]:
        test = compile_condition(cond)

        def predicate(event: Event) -> Any:
            return test(event)

        def many(events: list[Event]) -> list[Any]:
            asked[i].append([e.data["n"] for e in events])
            return [test(e) for e in events]
        predicate.many = many  # type: ignore[attr-defined]
        return predicate

    marks = [Taking(i) for i in range(4)]
    stages = [FilterStage(m, None, PluginStats("filter", "take", f"t{i}"), ordered=ordered)
              for i, m in enumerate(marks)]
    cond = ConditionalStage([(asking(0, "[n] >= 8"), [stages[0]]), (asking(1, "[n] >= 5"), [stages[1]]),
                             (asking(2, "[n] >= 2"), [stages[2]])], [stages[3]], ordered=ordered)
    ns = [9, 1, 5, 2, 8, 0, 6, 3, 7, 4]
    out = cond.run(batch(*ns))
    assert [e.data["n"] for e in out] == ns
    assert [e.data["took"] for e in out] == [0, 3, 1, 2, 0, 3, 1, 2, 1, 2]
    assert asked == [[ns], [[1, 5, 2, 0, 6, 3, 7, 4]], [[1, 2, 0, 3, 4]]]
    # an ordered stage sends runs of neighbours until it knows its routes keep their events
    assert [sum(m.calls, []) for m in marks] == [[9, 8], [5, 6, 7], [2, 3, 4], [1, 0]]
    if not ordered:
        assert [len(m.calls) for m in marks] == [1, 1, 1, 1]
    # when a condition takes every event left, the later ones are not asked
    asked[:] = [[], [], []]
    out = cond.run(batch(9, 5, 6))
    assert [e.data["took"] for e in out] == [0, 1, 1] and asked == [[[9, 5, 6]], [[5, 6]], []]


def test_truthy_verdicts_that_are_not_booleans_count_as_chosen() -> None:
    s, plugin = stage(lambda e: e.data["n"] % 3)    # 0 is falsy
    out = s.run(batch(0, 1, 2, 3, 4))
    assert plugin.calls == [[1, 2, 4]]
    assert [e.data["n"] for e in out] == [0, 1, 2, 3, 4]


def test_a_predicate_that_raises_passes_over_that_event_only() -> None:
    def pred(e: Event) -> bool:
        if e.data["n"] == 2:
            raise ValueError("boom")
        return True

    s, plugin = stage(pred)
    out = s.run(batch(1, 2, 3))
    assert plugin.calls == [[1, 3]]
    assert [e.data["n"] for e in out] == [1, 2, 3]


@pytest.mark.parametrize("cond,expected", [("[n] >= 3", [[5, 3, 4]]), ("[n] >= 0", [[5, 1, 3, 0, 4, 2]]),
                                           ("[n] > 10", [])])
def test_output_stage_sends_the_chosen_events_in_order(cond: str, expected: list[list[int]]) -> None:
    plugin = Recording()
    s = OutputStage(plugin, compile_condition(cond), PluginStats("output", "rec", "rec"))
    asyncio.run(s.send(batch(5, 1, 3, 0, 4, 2)))
    assert plugin.calls == expected
    assert s.stats.events_out == sum(map(len, expected))


class PackedOutput(Output):
    """Takes packed JSON lines; raises what it is told to."""

    def __init__(self, error: BaseException | None) -> None:
        super().__init__(PluginConfig(), id="packed")
        self.error = error
        self.bodies: list[list[bytes]] = []

    async def send(self, events: list[Event]) -> None:
        raise AssertionError("the packed route sends bytes")

    async def send_packed(self, bodies: list[bytes]) -> None:
        if self.error is not None:
            raise self.error
        self.bodies.append(bodies)


@pytest.mark.parametrize("error, retry, rejected", [
    (None, 0, 0),
    (OSError("peer went away"), 7, 0),
    (DeliveryError("refused", retriable=False), 0, 7),
    (DeliveryError("busy", retriable=True), 7, 0),
])
def test_packed_sends_are_counted_and_judged_as_event_sends(error: BaseException | None, retry: int,
                                                            rejected: int) -> None:
    s = OutputStage(PackedOutput(error), None, PluginStats("output", "packed", "packed"))
    delivery = asyncio.run(s.send_packed([b"{}\n"], 7))
    assert (len(delivery.retry), len(delivery.rejected)) == (retry, rejected)
    assert (s.stats.events_in, s.stats.events_out, s.stats.failures) == (7, 7 - retry - rejected,
                                                                         retry + rejected)
