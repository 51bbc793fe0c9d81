"""Which Kafka offsets may be committed, and where to re-read after a failure.

Kafka stores one number per partition for a consumer group: "everything before
this offset is done". Pipeline workers finish batches in any order, so the
number may only move past a batch once that batch *and every batch fetched
before it from the same partition* are delivered. :class:`OffsetTracker`
keeps, per partition, the batches in fetch order and turns delivered prefixes
into commit offsets (last delivered offset + 1).

A failed batch stops the prefix: nothing after it is committed. Once it is the
oldest outstanding batch of its partition, :meth:`OffsetTracker.take_failed`
hands back the offset to seek to; everything tracked after it is forgotten
(those events are read again, so some arrive twice: at-least-once).

Partitions are forgotten on revocation; a batch that settles afterwards is
simply not found, so a late acknowledgement can never commit an offset for a
partition this consumer no longer owns. Each reset bumps the partition's
``generation`` so the consumer can discard fetched-but-unsubmitted records
that belong to the old state.

Pure bookkeeping: no I/O, no clock, no aiokafka types (any hashable partition key).
"""
from __future__ import annotations

from collections import deque
from typing import Generic, Hashable, Iterable, TypeVar

from logpipe.core.batch import Batch

TP = TypeVar("TP", bound=Hashable)


class _Partition:
    __slots__ = ("batches", "done_to", "committed", "generation")

    def __init__(self, generation: int) -> None:
        #: (batch, first offset, last offset), oldest first.
        self.batches: deque[tuple[Batch, int, int]] = deque()
        #: Next offset after the delivered prefix; None until something is delivered.
        self.done_to: int | None = None
        #: What was last committed (or known committed) for this partition.
        self.committed: int | None = None
        self.generation = generation

    def advance(self) -> None:
        batches = self.batches
        while batches and batches[0][0].delivered:
            self.done_to = batches.popleft()[2] + 1


class OffsetTracker(Generic[TP]):
    """Per-partition delivered prefixes of in-flight batches."""

    def __init__(self) -> None:
        self._parts: dict[TP, _Partition] = {}
        self._generations: dict[TP, int] = {}

    def _part(self, tp: TP) -> _Partition:
        part = self._parts.get(tp)
        if part is None:
            part = self._parts[tp] = _Partition(self._generations.get(tp, 0))
        return part

    def generation(self, tp: TP) -> int:
        """Changes whenever the partition's tracking is reset (rewound or forgotten)."""
        return self._generations.get(tp, 0)

    def add(self, tp: TP, batch: Batch, first: int, last: int) -> None:
        """Record a submitted batch holding offsets ``first..last`` of ``tp``."""
        self._part(tp).batches.append((batch, first, last))

    def committable(self) -> dict[TP, int]:
        """Commit offsets that moved since the last :meth:`mark_committed`."""
        out: dict[TP, int] = {}
        for tp, part in self._parts.items():
            part.advance()
            if part.done_to is not None and part.done_to != part.committed:
                out[tp] = part.done_to
        return out

    def mark_committed(self, offsets: dict[TP, int]) -> None:
        """Kafka accepted these offsets; partitions forgotten meanwhile are ignored."""
        for tp, offset in offsets.items():
            part = self._parts.get(tp)
            if part is not None and (part.committed is None or offset > part.committed):
                part.committed = offset

    def take_failed(self) -> dict[TP, int]:
        """Partitions whose oldest outstanding batch failed, with the offset to re-read from.

        Their tracking is reset (a new generation): batches after the failed one
        will be fetched again, so their acknowledgements no longer count.
        """
        out: dict[TP, int] = {}
        for tp, part in self._parts.items():
            part.advance()
            if part.batches and part.batches[0][0].delivered is False:
                out[tp] = part.batches[0][1]
        for tp in out:
            self._reset(tp, keep_progress=True)
        return out

    def _reset(self, tp: TP, *, keep_progress: bool) -> None:
        gen = self._generations.get(tp, 0) + 1
        self._generations[tp] = gen
        old = self._parts.pop(tp, None)
        if keep_progress and old is not None:
            part = self._parts[tp] = _Partition(gen)
            part.done_to = old.done_to
            part.committed = old.committed

    def forget(self, tps: Iterable[TP]) -> None:
        """Drop partitions (revoked): their outstanding batches no longer count."""
        for tp in tps:
            self._reset(tp, keep_progress=False)

    def unsettled(self, tps: Iterable[TP] | None = None) -> list[Batch]:
        """Batches not yet settled, for ``tps`` or for every partition."""
        keys = self._parts.keys() if tps is None else tps
        out: list[Batch] = []
        for tp in keys:
            part = self._parts.get(tp)
            if part is not None:
                out.extend(b for b, _, _ in part.batches if not b.done)
        return out

    def outstanding(self) -> int:
        """Events in batches not yet released (in flight, or waiting behind one)."""
        return sum(len(b) for part in self._parts.values() for b, _, _ in part.batches)

    def partitions(self) -> list[TP]:
        return list(self._parts)
