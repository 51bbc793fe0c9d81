"""Where a pipeline's filter stages run: on the event loop, or in a thread of their own.

A thread keeps the event loop free for keepalives, heartbeats and HTTP answers
while a filter works. Under the GIL it buys no parallelism, and it costs: the
loop and the thread take the GIL from each other every millisecond, and a batch
decoded by one is filtered by the other, often on the other core. On the
graphmemory chain one worker spent 10% more CPU per event with the thread than
with the same stages on the loop when both threads were pinned to one core,
and 16% more unpinned.

So ``filter_thread: auto`` (the default) runs stages on the loop, and keeps
the loop's promises the thread kept:

- A stage whose filter may take unbounded time on one event, or wait on
  something (``Filter.runs_on_event_loop`` false: grok, whose backtracking
  engines are bounded only by its timeout; user code; third-party plugins),
  runs in the thread, stage by stage: the batch goes there and comes back.
  The ``regex`` module lets go of the GIL while it matches, so the loop keeps
  serving keepalives, heartbeats and HTTP answers through a hostile line.
- Between stages, a batch that has held the loop for :data:`SLICE_SECONDS`
  lets it go (``await asyncio.sleep(0)``) so that I/O and timers are served.
  One batch is in the stages at a time (a FIFO lock), so stateful filters
  (dedupe, throttle, aggregate) still see whole batches in the order they came.
- A stage that holds the loop longer than :data:`HARD_SECONDS` on one batch (a
  huge event, a slow lookup) sends every stage of the following batches to the
  thread for :data:`THREAD_SECONDS`, then the loop is tried again.

``filter_thread: true`` keeps every stage in the thread, ``false`` every stage
on the loop (without slicing: the old behaviour of ``false``).
"""
from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from time import perf_counter
from typing import Any, Callable, Literal, Sequence, TypeVar

from logpipe.core.event import Event
from logpipe.core.plugin import Filter
from logpipe.core.stages import ConditionalStage, FilterStage, filter_plugins

log = logging.getLogger("logpipe.engine")

T = TypeVar("T")
Stage = FilterStage | ConditionalStage
Mode = Literal["auto", "thread", "loop"]

#: A batch gives the event loop back between stages once it has held it this long.
SLICE_SECONDS = 0.02
#: One stage holding the loop this long on one batch sends the next batches to the thread.
HARD_SECONDS = 0.25
#: How long they stay there before the loop is tried again.
THREAD_SECONDS = 60.0


def mode_of(setting: bool | str) -> Mode:
    """The runner's mode for the ``filter_thread`` setting."""
    if setting == "auto":
        return "auto"
    return "thread" if setting else "loop"


def loop_safe(plugins: Sequence[Filter]) -> bool:
    """Whether every filter says it only computes, in bounded time per event."""
    return all(getattr(p, "runs_on_event_loop", False) for p in plugins)


class FilterRunner:
    """Runs the filter stages of one pipeline on batches, where ``mode`` says."""

    def __init__(self, stages: list[Stage], mode: Mode, *, name: str,
                 clock: Callable[[], float] = perf_counter) -> None:
        self.stages = stages
        self.name = name
        self.mode: Mode = mode if stages else "loop"
        #: For each stage, whether auto mode may run it on the loop.
        self.on_loop = [loop_safe(filter_plugins([stage])) for stage in stages]
        if self.mode == "auto" and not any(self.on_loop):
            self.mode = "thread"
        self._clock = clock
        self._executor: ThreadPoolExecutor | None = None
        #: One batch in the stages at a time, first come first served.
        self._lock = asyncio.Lock()
        #: In auto mode, the clock reading until which batches go to the thread.
        self._thread_until = 0.0

    # --- where -----------------------------------------------------------------------
    def _thread(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"filters-{self.name}")
        return self._executor

    def on_thread(self) -> bool:
        """Whether the next batch goes to the thread."""
        if self.mode == "auto":
            return self._thread_until > self._clock()
        return self.mode == "thread"

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` where the filters run now, whole (the packed line route)."""
        if self.on_thread():
            return await asyncio.get_running_loop().run_in_executor(self._thread(), fn, *args)
        return fn(*args)

    # --- running ---------------------------------------------------------------------
    async def run(self, events: list[Event]) -> list[Event]:
        """The batch after every stage."""
        if self.on_thread():
            return await asyncio.get_running_loop().run_in_executor(self._thread(), run_stages,
                                                                    self.stages, events)
        if self.mode == "loop":
            return run_stages(self.stages, events)
        async with self._lock:
            return await self._sliced(events)

    async def _sliced(self, events: list[Event]) -> list[Event]:
        clock = self._clock
        held_since = clock()
        loop = asyncio.get_running_loop()
        for stage, on_loop in zip(self.stages, self.on_loop):
            if not on_loop:
                events = await loop.run_in_executor(self._thread(), stage.run, events)
                held_since = clock()
                continue
            started = clock()
            events = stage.run(events)
            now = clock()
            if now - started > HARD_SECONDS:
                self._to_thread(stage, now - started, len(events))
            if now - held_since > SLICE_SECONDS:
                await asyncio.sleep(0)
                held_since = clock()
        return events

    def _to_thread(self, stage: Stage, seconds: float, count: int) -> None:
        if self._thread_until <= self._clock():
            log.info("pipeline %s: a filter stage (%s) held the event loop for %.0f ms on a batch of "
                     "%d events; filters run in their own thread for the next %.0f s", self.name,
                     _describe(stage), seconds * 1000, count, THREAD_SECONDS)
        self._thread_until = self._clock() + THREAD_SECONDS

    def shutdown(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)


def run_stages(stages: list[Stage], events: list[Event]) -> list[Event]:
    for stage in stages:
        events = stage.run(events)
    return events


def _describe(stage: Stage) -> str:
    plugin = getattr(stage, "plugin", None)
    return plugin.id if plugin is not None else "a conditional"
