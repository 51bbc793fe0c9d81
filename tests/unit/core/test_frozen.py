"""The registry of objects shared between events that never change: what readers get."""
from __future__ import annotations

from logpipe.core.frozen import FrozenObjects


def test_a_reader_gets_each_object_once_in_order() -> None:
    frozen = FrozenObjects()
    a, b, c = {"a": 1}, [2], {"c": 3}
    frozen.vouch(a)
    frozen.vouch(b)
    got, cursor = frozen.since(0)
    assert got == [a, b] and got[0] is a and got[1] is b
    assert frozen.since(cursor) == ([], cursor)
    frozen.vouch(c)
    got, cursor = frozen.since(cursor)
    assert got == [c] and got[0] is c
    assert frozen.since(cursor) == ([], cursor)


def test_readers_follow_the_registry_each_at_its_own_pace() -> None:
    frozen = FrozenObjects()
    objects = [{"n": i} for i in range(5)]
    for obj in objects[:3]:
        frozen.vouch(obj)
    first, at_first = frozen.since(0)
    for obj in objects[3:]:
        frozen.vouch(obj)
    rest, _ = frozen.since(at_first)
    everything, _ = frozen.since(0)
    assert first == objects[:3] and rest == objects[3:] and everything == objects


def test_the_registry_is_bounded_and_a_late_reader_gets_what_is_left() -> None:
    frozen = FrozenObjects(limit=4)
    objects = [{"n": i} for i in range(11)]
    got, cursor = frozen.since(0)
    for i, obj in enumerate(objects):
        frozen.vouch(obj)
        assert len(frozen) <= 4
        if i == 2:
            got, cursor = frozen.since(cursor)
            assert got == objects[:3]
    late, end = frozen.since(cursor)
    # the older halves were dropped as it filled: what is left is the newest, in order
    assert late == objects[-len(late):] and 0 < len(late) <= 4
    assert end == len(objects)
    assert frozen.since(end) == ([], end)
    assert frozen.since(0)[0] == late
