"""Batches and their acknowledgement.

An input hands events to the pipeline as a :class:`Batch`. The batch is the unit
of acknowledgement: it completes exactly once, delivered (every output took
every event, or the filters dropped them) or failed (an output gave up). The
input learns the outcome through ``on_done`` or by awaiting :meth:`Batch.wait`,
and only then tells its sender (Beats ACK, Kafka commit, HTTP response).
Filters and outputs never acknowledge anything by hand; the engine does.
"""
from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, Callable, Generic, Sequence, TypeVar

from logpipe.core.event import Event

DoneCallback = Callable[["Batch"], None]


class Batch:
    __slots__ = ("events", "size", "input_id", "delivered", "reason", "_on_done", "_future",
                 "token", "retriable", "rejected", "dead_lettered")

    def __init__(self, events: list[Event], *, size: int = 0, input_id: str = "",
                 on_done: DoneCallback | None = None, token: Any = None) -> None:
        self.events = events
        self.size = size
        self.input_id = input_id
        self.delivered: bool | None = None
        self.reason: str | None = None
        #: When not delivered: whether sending again may succeed (False: some events were
        #: rejected for good and no dead-letter queue took them).
        self.retriable = True
        #: Reasons of the events rejected for good that no dead-letter queue took.
        self.rejected: list[str] = []
        #: Events of this batch that went to the dead-letter queue (the batch still counts
        #: as delivered: they are kept, with their reason).
        self.dead_lettered = 0
        self._on_done = on_done
        self._future: asyncio.Future[bool] | None = None
        #: Opaque data for the input (a window's sequence number, Kafka offsets).
        self.token = token

    @property
    def done(self) -> bool:
        return self.delivered is not None

    def complete(self, delivered: bool, reason: str | None = None, *, retriable: bool = True,
                 rejected: list[str] | None = None, dead_lettered: int = 0) -> None:
        """Settle the batch; later calls are ignored so a batch is settled once.

        ``delivered`` is True when every event was delivered or dead-lettered;
        otherwise ``retriable`` says whether the input should offer it again
        (HTTP: 503 versus 4xx) and ``rejected`` lists why events were refused.
        """
        if self.delivered is not None:
            return
        self.delivered = delivered
        self.reason = reason
        self.retriable = retriable
        self.dead_lettered = dead_lettered
        if rejected:
            self.rejected = rejected
        if self._on_done is not None:
            self._on_done(self)
        if self._future is not None and not self._future.done():
            self._future.set_result(delivered)

    async def wait(self) -> bool:
        """Wait until the batch is settled; True when delivered."""
        if self.delivered is not None:
            return self.delivered
        if self._future is None:
            self._future = asyncio.get_running_loop().create_future()
        return await asyncio.shield(self._future)

    def __len__(self) -> int:
        return len(self.events)


T = TypeVar("T")


class InOrder(Generic[T]):
    """Releases acknowledgements in the order their batches arrived.

    Beats windows must be ACKed in order, and a Kafka offset may only be committed
    once everything before it is delivered. ``add`` records a batch with the value
    to release; ``release`` returns the values whose batches, and all batches before
    them, are delivered. A failed batch blocks release (and is reported by
    ``failed``) so that nothing after it is acknowledged past it.
    """

    def __init__(self) -> None:
        self._pending: deque[tuple[Batch, T]] = deque()

    def add(self, batch: Batch, value: T) -> None:
        self._pending.append((batch, value))

    def release(self) -> list[T]:
        out: list[T] = []
        pending = self._pending
        while pending and pending[0][0].delivered:
            out.append(pending.popleft()[1])
        return out

    def failed(self) -> bool:
        return bool(self._pending) and self._pending[0][0].delivered is False

    def clear(self) -> list[tuple[Batch, T]]:
        items = list(self._pending)
        self._pending.clear()
        return items

    def __len__(self) -> int:
        return len(self._pending)


def flatten(batches: Sequence[Batch]) -> list[Event]:
    """The events of the batches as one list (a packed batch's events are built here;
    see logpipe.core.packed)."""
    if len(batches) == 1:
        events = batches[0].events
        return events if type(events) is list else list(events)
    out: list[Event] = []
    for b in batches:
        out.extend(b.events)
    return out
