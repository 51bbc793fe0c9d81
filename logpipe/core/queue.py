"""The bounded queue between inputs and pipeline workers.

Bounded by events and by bytes: when either bound is reached, ``put`` waits, so
inputs slow down instead of memory growing. A batch larger than the bounds is let
in alone when the queue is empty, so an oversize batch cannot wedge the pipeline.
Workers take several batches at once (up to ``batch_size`` events, waiting at
most ``batch_delay`` for more) so per-batch costs are paid per worker batch.
"""
from __future__ import annotations

import asyncio
from collections import deque

from logpipe.core.batch import Batch


class QueueClosed(Exception):
    """put() after close()."""


class BoundedQueue:
    def __init__(self, max_events: int = 10_000, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_events = max_events
        self.max_bytes = max_bytes
        self._items: deque[Batch] = deque()
        self.events = 0
        self.bytes = 0
        self.high_water_events = 0
        self._closed = False
        self._not_empty = asyncio.Event()
        self._space = asyncio.Event()
        self._space.set()

    # --- producers -------------------------------------------------------------------
    def _fits(self, batch: Batch) -> bool:
        if not self._items:
            return True
        return (self.events + len(batch.events) <= self.max_events
                and self.bytes + batch.size <= self.max_bytes)

    def try_put(self, batch: Batch) -> bool:
        """Enqueue without waiting; False when full (HTTP answers 429 then)."""
        if self._closed:
            raise QueueClosed()
        if not self._fits(batch):
            return False
        self._push(batch)
        return True

    async def put(self, batch: Batch) -> None:
        while True:
            if self._closed:
                raise QueueClosed()
            if self._fits(batch):
                self._push(batch)
                return
            self._space.clear()
            await self._space.wait()

    def _push(self, batch: Batch) -> None:
        self._items.append(batch)
        self.events += len(batch.events)
        self.bytes += batch.size
        if self.events > self.high_water_events:
            self.high_water_events = self.events
        self._not_empty.set()

    @property
    def full(self) -> bool:
        return self.events >= self.max_events or self.bytes >= self.max_bytes

    # --- consumers -------------------------------------------------------------------
    async def get_many(self, max_events: int, delay: float) -> list[Batch]:
        """Up to ``max_events`` events' worth of batches; [] once closed and empty."""
        while not self._items:
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
                if not self._items:  # another worker took them
                    return await self.get_many(max_events, delay)
        out: list[Batch] = []
        taken = 0
        items = self._items
        while items and (not out or taken + len(items[0].events) <= max_events):
            b = items.popleft()
            out.append(b)
            taken += len(b.events)
            self.events -= len(b.events)
            self.bytes -= b.size
        if not items:
            self._not_empty.clear()
        self._space.set()
        return out

    def close(self) -> None:
        """No more puts; getters drain what is left, then get []."""
        self._closed = True
        self._not_empty.set()
        self._space.set()

    @property
    def closed(self) -> bool:
        return self._closed

    def __len__(self) -> int:
        return len(self._items)
