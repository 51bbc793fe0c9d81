"""Reliable Redis lists: items are acknowledged in the order they were taken."""
from __future__ import annotations

from logpipe.core.batch import Batch
from logpipe.core.event import Event
from logpipe.inputs.redis.acks import AckWindow


def batch() -> Batch:
    return Batch([Event({"message": "x"})])


def test_release_returns_items_of_the_delivered_prefix_in_order() -> None:
    w = AckWindow()
    a, b, c = batch(), batch(), batch()
    w.add(a, [b"1", b"2"])
    w.add(b, [b"3"])
    w.add(c, [b"4"])
    b.complete(True)
    assert w.release() == []
    a.complete(True)
    assert w.release() == [b"1", b"2", b"3"]
    assert len(w) == 1
    c.complete(True)
    assert w.release() == [b"4"]
    assert len(w) == 0


def test_failed_entry_is_replaced_in_place() -> None:
    w = AckWindow()
    a, b = batch(), batch()
    w.add(a, [b"1"])
    w.add(b, [b"2"])
    a.complete(False, "down")
    b.complete(True)
    (entry,) = w.failed()
    assert entry.items == [b"1"]
    assert w.release() == []  # nothing passes the failed batch
    again = batch()
    w.replace(entry, again)
    assert entry.attempts == 1
    assert w.failed() == []
    again.complete(True)
    assert w.release() == [b"1", b"2"]


def test_every_failed_entry_is_reported_oldest_first() -> None:
    w = AckWindow()
    a, b, c = batch(), batch(), batch()
    w.add(a, [b"1"])
    w.add(b, [b"2"])
    w.add(c, [b"3"])
    c.complete(False)
    assert [e.items for e in w.failed()] == [[b"3"]]
    a.complete(False)
    assert [e.items for e in w.failed()] == [[b"1"], [b"3"]]
    assert w.events == 3
