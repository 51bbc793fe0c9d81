"""Putting a routed batch back together (logpipe.core.ordering), as pure logic."""
from __future__ import annotations

from logpipe.core.event import Event
from logpipe.core.ordering import PASS, RouteHabits, route_batch


def events(*names: str) -> list[Event]:
    return [Event({"n": n}) for n in names]


def names(batch: list[Event]) -> list[str]:
    return [e.data["n"] for e in batch]


def same(batch: list[Event]) -> list[Event]:
    for e in batch:
        e.data["seen"] = True
    return batch


def drop_b(batch: list[Event]) -> list[Event]:
    return [e for e in batch if e.data["n"] != "b"]


def split(batch: list[Event]) -> list[Event]:
    return [Event({"n": e.data["n"] + s}) for e in batch for s in ("1", "2")]


def keep_and_clone(batch: list[Event]) -> list[Event]:
    out = []
    for e in batch:
        out.append(e)
        out.append(Event({"n": e.data["n"] + "'"}))
    return out


def test_identity_routes_return_the_batch_itself() -> None:
    batch = events("a", "b", "c", "d")
    habits = RouteHabits()
    labels = [0, PASS, 0, 1]
    first = route_batch(batch, labels, [same, same], ordered=True, habits=habits)
    assert names(first) == ["a", "b", "c", "d"]
    assert habits.known == {PASS, 0, 1} and not habits.runs
    again = events("a", "b", "c", "d")
    assert route_batch(again, labels, [same, same], ordered=True, habits=habits) is again


def test_dropping_routes_are_merged_by_identity() -> None:
    habits = RouteHabits()
    for _ in range(2):
        out = route_batch(events("a", "b", "c", "b"), [0, 0, PASS, 0], [drop_b], ordered=True,
                          habits=habits)
        assert names(out) == ["a", "c"]
    assert not habits.runs


def test_splitting_routes_switch_to_runs_and_stay_exact() -> None:
    habits = RouteHabits()
    for _ in range(2):
        out = route_batch(events("a", "b", "c"), [0, PASS, 0], [split], ordered=True, habits=habits)
        assert names(out) == ["a1", "a2", "b", "c1", "c2"]
    assert habits.runs


def test_unordered_places_new_events_after_their_kind_and_keeps_the_rest() -> None:
    out = route_batch(events("a", "b", "c"), [0, PASS, 0], [keep_and_clone], ordered=False,
                      habits=RouteHabits())
    assert names(out) == ["a", "a'", "b", "c", "c'"]
    out = route_batch(events("a", "b", "c"), [0, PASS, 0], [split], ordered=False,
                      habits=RouteHabits())
    assert names(out) == ["a1", "a2", "c1", "c2", "b"]


def test_a_route_that_changes_its_habits_is_placed_after_its_own_events_then_runs() -> None:
    calls = {"n": 0}

    def sometimes_clones(batch: list[Event]) -> list[Event]:
        calls["n"] += 1
        return batch if calls["n"] <= 2 else keep_and_clone(batch)

    habits = RouteHabits()
    route_batch(events("a", "b", "c"), [0, PASS, 0], [sometimes_clones], ordered=True, habits=habits)
    assert habits.known == {PASS, 0}
    out = route_batch(events("a", "b", "c"), [0, PASS, 0], [sometimes_clones], ordered=True,
                      habits=habits)
    assert names(out) == ["a", "a'", "b", "c", "c'"]
    assert habits.runs
