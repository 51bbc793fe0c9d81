"""The bounded queue between inputs and pipeline workers, shared fairly by the inputs.

Bounded by events and by bytes: when either bound is reached, ``put`` waits, so
inputs slow down instead of memory growing. A batch larger than the bounds is let
in alone when the queue is empty, so an oversize batch cannot wedge the pipeline.
Workers take several batches at once (up to ``batch_size`` events, waiting at
most ``batch_delay`` for more) so per-batch costs are paid per worker batch.

Fair to several inputs, on both sides of the queue:

- Room that frees goes to the waiting producers in turn: one turn per input
  that waits, FIFO among one input's waiters. An input that always waits (a
  Kafka consumer with records fetched) can then not take every freed slot
  from another (HTTP requests), whatever the order in which they woke up.
  While anyone waits, ``try_put`` answers False, so nobody jumps the line.
- Each input has its own lane and workers take batches from the lanes in
  turn, so a batch of one input waits behind a share of the queued events,
  not behind everything another input queued before it. Within a lane the
  order is kept (``pipeline.ordered`` is about one input's order).
"""
from __future__ import annotations

import asyncio
from collections import deque

from logpipe.core.batch import Batch


class QueueClosed(Exception):
    """put() after close()."""


class _Waiter:
    """A producer waiting for room; ``granted`` once room is reserved for it."""

    __slots__ = ("events", "size", "future", "granted")

    def __init__(self, events: int, size: int, future: asyncio.Future[None]) -> None:
        self.events = events
        self.size = size
        self.future = future
        self.granted = False


class BoundedQueue:
    def __init__(self, max_events: int = 10_000, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_events = max_events
        self.max_bytes = max_bytes
        self._lanes: dict[str, deque[Batch]] = {}
        self._serve: deque[str] = deque()  # lanes holding batches, next to be served first
        self._batches = 0
        self.events = 0
        self.bytes = 0
        self.high_water_events = 0
        # Room granted to a waiter that has not run yet counts as used.
        self._reserved_batches = 0
        self._reserved_events = 0
        self._reserved_bytes = 0
        self._waiters: dict[str, deque[_Waiter]] = {}
        self._turns: deque[str] = deque()  # inputs with waiters, whose turn comes first
        self._closed = False
        self._not_empty = asyncio.Event()

    # --- producers -------------------------------------------------------------------
    def _room_for(self, events: int, size: int) -> bool:
        if not self._batches and not self._reserved_batches:
            return True  # alone into an empty queue, however large
        return (self.events + self._reserved_events + events <= self.max_events
                and self.bytes + self._reserved_bytes + size <= self.max_bytes)

    def try_put(self, batch: Batch) -> bool:
        """Enqueue without waiting; False when full or others wait (HTTP answers 429 then)."""
        if self._closed:
            raise QueueClosed()
        if self._turns or not self._room_for(len(batch.events), batch.size):
            return False
        self._push(batch)
        return True

    async def put(self, batch: Batch, timeout: float | None = None) -> bool:
        """Enqueue, waiting in turn for room; False if ``timeout`` seconds pass first.

        Raises QueueClosed once the queue is closed, also while waiting."""
        if self._closed:
            raise QueueClosed()
        events, size = len(batch.events), batch.size
        if not self._turns and self._room_for(events, size):
            self._push(batch)
            return True
        waiter = _Waiter(events, size, asyncio.get_running_loop().create_future())
        lane = batch.input_id
        waiting = self._waiters.get(lane)
        if waiting is None:
            waiting = self._waiters[lane] = deque()
            self._turns.append(lane)
        waiting.append(waiter)
        try:
            async with asyncio.timeout(timeout):
                await waiter.future
        except TimeoutError:
            self._withdraw(lane, waiter)
            if self._closed:
                raise QueueClosed() from None
            return False
        except asyncio.CancelledError:
            self._withdraw(lane, waiter)
            raise
        finally:
            if waiter.granted:
                waiter.granted = False
                self._reserved_batches -= 1
                self._reserved_events -= events
                self._reserved_bytes -= size
        if self._closed:
            self._dispatch()
            raise QueueClosed()
        self._push(batch)
        return True

    def _withdraw(self, lane: str, waiter: _Waiter) -> None:
        """A waiter gave up (timeout, cancellation): take it out of the line, and pass on
        room it was granted but will not use."""
        waiting = self._waiters.get(lane)
        if waiting is not None and waiter in waiting:
            waiting.remove(waiter)
            if not waiting:
                del self._waiters[lane]
                self._turns.remove(lane)
        if waiter.granted:
            waiter.granted = False
            self._reserved_batches -= 1
            self._reserved_events -= waiter.events
            self._reserved_bytes -= waiter.size
        self._dispatch()

    def _dispatch(self) -> None:
        """Grant room to waiters in turn while the next in line fits. The next in line
        is never skipped for a smaller one behind it, so a large batch is not starved."""
        turns, waiters = self._turns, self._waiters
        while turns:
            lane = turns[0]
            waiting = waiters[lane]
            waiter = waiting[0]
            if not waiter.future.done():
                if not self._room_for(waiter.events, waiter.size):
                    return
                waiter.granted = True
                self._reserved_batches += 1
                self._reserved_events += waiter.events
                self._reserved_bytes += waiter.size
                waiter.future.set_result(None)
            # else: cancelled; its task takes it out of the line when it runs
            waiting.popleft()
            turns.popleft()
            if waiting:
                turns.append(lane)  # its next waiter waits for the others' turns
            else:
                del waiters[lane]

    def _push(self, batch: Batch) -> None:
        lane = self._lanes.get(batch.input_id)
        if lane is None:
            lane = self._lanes[batch.input_id] = deque()
        if not lane:
            self._serve.append(batch.input_id)
        lane.append(batch)
        self._batches += 1
        self.events += len(batch.events)
        self.bytes += batch.size
        if self.events > self.high_water_events:
            self.high_water_events = self.events
        self._not_empty.set()

    @property
    def full(self) -> bool:
        """Whether a producer would wait now: a bound is reached or others wait already."""
        return bool(self._turns) or self.events >= self.max_events or self.bytes >= self.max_bytes

    @property
    def waiting(self) -> int:
        """Producers waiting for room."""
        return sum(len(w) for w in self._waiters.values())

    # --- consumers -------------------------------------------------------------------
    async def get_many(self, max_events: int, delay: float) -> list[Batch]:
        """Up to ``max_events`` events' worth of batches, taken from the inputs' lanes in
        turn (at least one batch); [] once closed and empty."""
        while not self._batches:
            if self._closed:
                return []
            self._not_empty.clear()
            await self._not_empty.wait()
        if self.events < max_events and delay > 0 and not self._closed:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + delay
            while self.events < max_events and not self._closed:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                self._not_empty.clear()
                try:
                    await asyncio.wait_for(self._not_empty.wait(), remaining)
                except TimeoutError:
                    break
                if not self._batches:  # another worker took them
                    return await self.get_many(max_events, delay)
        out: list[Batch] = []
        taken = 0
        serve, lanes = self._serve, self._lanes
        while serve:
            name = serve[0]
            lane = lanes[name]
            n = len(lane[0].events)
            if out and taken + n > max_events:
                break
            b = lane.popleft()
            serve.popleft()
            if lane:
                serve.append(name)
            out.append(b)
            taken += n
            self._batches -= 1
            self.events -= n
            self.bytes -= b.size
        if not self._batches:
            self._not_empty.clear()
        self._dispatch()
        return out

    def close(self) -> None:
        """No more puts (waiting ones raise QueueClosed); getters drain what is left,
        then get []."""
        self._closed = True
        self._not_empty.set()
        for waiting in self._waiters.values():
            for waiter in waiting:
                if not waiter.future.done():
                    waiter.future.set_result(None)
                    waiter.granted = False
        self._waiters.clear()
        self._turns.clear()

    @property
    def closed(self) -> bool:
        return self._closed

    def __len__(self) -> int:
        return self._batches
