"""Which Kafka offsets the input may commit: only delivered prefixes, per partition."""
from __future__ import annotations

from logpipe.core.batch import Batch
from logpipe.core.event import Event
from logpipe.inputs.kafka.offsets import OffsetTracker

P0 = ("logs", 0)
P1 = ("logs", 1)


def batch(n: int = 1) -> Batch:
    return Batch([Event({"message": str(i)}) for i in range(n)])


def test_nothing_to_commit_before_any_delivery() -> None:
    t: OffsetTracker[tuple[str, int]] = OffsetTracker()
    t.add(P0, batch(), 0, 9)
    assert t.committable() == {}


def test_commit_offset_is_last_delivered_plus_one() -> None:
    t: OffsetTracker[tuple[str, int]] = OffsetTracker()
    b = batch()
    t.add(P0, b, 0, 9)
    b.complete(True)
    assert t.committable() == {P0: 10}


def test_out_of_order_acks_wait_for_the_earlier_batch() -> None:
    t: OffsetTracker[tuple[str, int]] = OffsetTracker()
    first, second, third = batch(), batch(), batch()
    t.add(P0, first, 0, 9)
    t.add(P0, second, 10, 19)
    t.add(P0, third, 20, 29)
    third.complete(True)
    second.complete(True)
    assert t.committable() == {}
    first.complete(True)
    assert t.committable() == {P0: 30}


def test_partial_prefix_commits_up_to_the_gap() -> None:
    t: OffsetTracker[tuple[str, int]] = OffsetTracker()
    a, b, c = batch(), batch(), batch()
    t.add(P0, a, 0, 4)
    t.add(P0, b, 5, 9)
    t.add(P0, c, 10, 14)
    a.complete(True)
    c.complete(True)
    assert t.committable() == {P0: 5}


def test_partitions_are_independent() -> None:
    t: OffsetTracker[tuple[str, int]] = OffsetTracker()
    a, b = batch(), batch()
    t.add(P0, a, 100, 199)
    t.add(P1, b, 7, 8)
    b.complete(True)
    assert t.committable() == {P1: 9}


def test_offset_gaps_from_compaction_use_last_offset() -> None:
    t: OffsetTracker[tuple[str, int]] = OffsetTracker()
    b = batch(3)
    t.add(P0, b, 3, 42)  # offsets 3, 17, 42 survived compaction
    b.complete(True)
    assert t.committable() == {P0: 43}


def test_committed_offsets_are_not_offered_again() -> None:
    t: OffsetTracker[tuple[str, int]] = OffsetTracker()
    b = batch()
    t.add(P0, b, 0, 9)
    b.complete(True)
    offsets = t.committable()
    t.mark_committed(offsets)
    assert t.committable() == {}
    c = batch()
    t.add(P0, c, 10, 11)
    c.complete(True)
    assert t.committable() == {P0: 12}


def test_a_refused_commit_is_offered_again() -> None:
    t: OffsetTracker[tuple[str, int]] = OffsetTracker()
    b = batch()
    t.add(P0, b, 0, 9)
    b.complete(True)
    assert t.committable() == {P0: 10}
    # no mark_committed: Kafka refused it
    assert t.committable() == {P0: 10}


def test_failed_batch_blocks_everything_after_it() -> None:
    t: OffsetTracker[tuple[str, int]] = OffsetTracker()
    a, b, c = batch(), batch(), batch()
    t.add(P0, a, 0, 9)
    t.add(P0, b, 10, 19)
    t.add(P0, c, 20, 29)
    a.complete(True)
    b.complete(False, "es down")
    c.complete(True)
    assert t.committable() == {P0: 10}


def test_failed_head_gives_offset_to_reread_and_resets_partition() -> None:
    t: OffsetTracker[tuple[str, int]] = OffsetTracker()
    a, b, c = batch(), batch(), batch()
    t.add(P0, a, 0, 9)
    t.add(P0, b, 10, 19)
    t.add(P0, c, 20, 29)
    gen = t.generation(P0)
    a.complete(True)
    b.complete(False)
    c.complete(True)
    assert t.take_failed() == {P0: 10}
    assert t.generation(P0) != gen
    # the delivered prefix before the failure is still committable, nothing past it
    assert t.committable() == {P0: 10}
    assert t.take_failed() == {}
    # the re-read batch takes over from there
    again = batch()
    t.add(P0, again, 10, 29)
    again.complete(True)
    assert t.committable() == {P0: 30}


def test_failure_behind_unsettled_batch_waits_its_turn() -> None:
    t: OffsetTracker[tuple[str, int]] = OffsetTracker()
    a, b = batch(), batch()
    t.add(P0, a, 0, 9)
    t.add(P0, b, 10, 19)
    b.complete(False)
    assert t.take_failed() == {}
    a.complete(False)
    assert t.take_failed() == {P0: 0}


def test_forgotten_partition_ignores_late_acks() -> None:
    t: OffsetTracker[tuple[str, int]] = OffsetTracker()
    a, b = batch(), batch()
    t.add(P0, a, 0, 9)
    t.add(P1, b, 0, 9)
    t.forget([P0])
    a.complete(True)
    b.complete(True)
    assert t.committable() == {P1: 10}
    t.mark_committed({P0: 10})  # a commit racing the revocation changes nothing
    assert P0 not in t.partitions()


def test_reassigned_partition_starts_fresh() -> None:
    t: OffsetTracker[tuple[str, int]] = OffsetTracker()
    old = batch()
    t.add(P0, old, 0, 9)
    t.forget([P0])
    new = batch()
    t.add(P0, new, 50, 59)
    old.complete(True)
    assert t.committable() == {}
    new.complete(True)
    assert t.committable() == {P0: 60}


def test_unsettled_lists_in_flight_batches_of_given_partitions() -> None:
    t: OffsetTracker[tuple[str, int]] = OffsetTracker()
    a, b, c = batch(), batch(), batch()
    t.add(P0, a, 0, 0)
    t.add(P0, b, 1, 1)
    t.add(P1, c, 0, 0)
    a.complete(True)
    assert t.unsettled([P0]) == [b]
    assert set(map(id, t.unsettled())) == {id(b), id(c)}


def test_outstanding_counts_events_until_released() -> None:
    t: OffsetTracker[tuple[str, int]] = OffsetTracker()
    a, b = batch(3), batch(2)
    t.add(P0, a, 0, 2)
    t.add(P0, b, 3, 4)
    assert t.outstanding() == 5
    b.complete(True)
    t.committable()
    assert t.outstanding() == 5  # b waits behind a
    a.complete(True)
    t.committable()
    assert t.outstanding() == 0
