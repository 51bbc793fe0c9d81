"""Run one pipeline in this process: event loop, signals, exit status."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

from logpipe.config.loader import PipelineSpec
from logpipe.core.telemetry import MetricsRegistry

log = logging.getLogger("logpipe.runtime")


#: Seconds a thread that wants the GIL waits before asking its holder to let go
#: (CPython's default is 0.005). See :func:`install_loop_policy`.
GIL_SWITCH_INTERVAL = 0.001

#: Net container allocations (allocations less frees) between two young
#: collections of the cyclic collector (CPython's default is 700). See
#: :func:`install_loop_policy`.
GC_YOUNG_THRESHOLD = 500_000

#: Seconds between two full collections in a process that runs pipelines. See
#: :func:`with_cycle_sweeps`.
GC_SWEEP_SECONDS = 60.0

T = TypeVar("T")


def tune_collector() -> None:
    """The cyclic collector's settings for a process that moves events.

    Pipelines allocate many short-lived dicts; with the default generation-0
    threshold the cyclic collector runs every few hundred allocations and
    roughly doubles per-event cost in decoders. Objects alive at start-up
    (modules, compiled patterns, databases) are frozen out of collection.
    A young collection walks every container allocated since the one before
    that is still alive, which in a busy worker is the events in flight: a
    queue and a batch of them, some 50,000 dicts and lists, read from memory
    that has left the caches (10-15 ms a collection here). What decides the
    cost is how often that happens. Events are freed by their reference
    counts, not by the collector (they hold no cycles), so the count of net
    allocations grows by about what one full queue holds between two
    collections; at 50,000 a graphmemory worker collected every 8,500 events
    (7 young collections, 70-110 ms, in 60,000 events: 5-8% of its CPU),
    at 500,000 about ten times less often. Cycles that do occur (an
    exception holding its frames) would wait for that many net allocations,
    which a steady worker never reaches (none in 600,000 graphmemory events):
    :func:`with_cycle_sweeps` collects them on a clock instead.
    """
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 20)


def install_loop_policy() -> str:
    """uvloop when it is installed (it is a base dependency on Unix), a tuned collector
    (:func:`tune_collector`), and a shorter GIL switch interval.

    When filters run in a thread of their own (``filter_thread: true``, or
    ``auto`` for a chain with a filter that may wait, or after a hard batch:
    logpipe.core.filter_runner), the event loop settles, delivers and decodes
    the next input batches meanwhile, so both threads want the GIL most of the
    time. With CPython's 5 ms interval each waits up to 5 ms for its turn; at
    1 ms the same events cost about 4% less CPU (measured with both intervals
    alternating in one worker process over the graphmemory chain), and the
    event loop gets the GIL back sooner for acknowledgements and heartbeats.
    """
    import sys

    tune_collector()
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)
    try:
        import uvloop
    except ImportError:
        return "asyncio"
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return "uvloop"


async def sweep_cycles(interval: float = GC_SWEEP_SECONDS) -> None:
    """A full collection every ``interval`` seconds, until cancelled.

    With young collections tied to net allocations (see :func:`install_loop_policy`),
    cyclic garbage could otherwise stay for as long as a worker runs. A full
    collection walks what is not frozen (the events in flight, caches filled since
    start-up): tens of milliseconds once a minute.
    """
    import gc

    while True:
        await asyncio.sleep(interval)
        gc.collect()


async def with_cycle_sweeps(main: Awaitable[T], interval: float = GC_SWEEP_SECONDS) -> T:
    """Await ``main`` with :func:`sweep_cycles` running beside it: the body of every
    ``asyncio.run`` that runs pipelines."""
    sweeper = asyncio.create_task(sweep_cycles(interval), name="cycle-sweeps")
    try:
        return await main
    finally:
        sweeper.cancel()
        try:
            await sweeper
        except asyncio.CancelledError:
            pass


async def run_pipeline(spec: PipelineSpec, *, stop: asyncio.Event | None = None,
                       metrics: MetricsRegistry | None = None, worker_index: int = 0,
                       worker_count: int = 1) -> bool:
    """Run until SIGTERM/SIGINT (or the end of finite inputs); True when clean."""
    from logpipe.core.pipeline import Pipeline
    from logpipe.runtime.signals import take_over_stops

    stop = stop or asyncio.Event()
    take_over_stops(asyncio.get_running_loop(), lambda _name: stop.set())
    pipeline = Pipeline(spec, worker_index=worker_index, worker_count=worker_count, metrics=metrics)
    log.info("pipeline %s starting: %d inputs, %d filters, %d outputs", spec.name,
             len(spec.inputs), len(spec.filters), len(spec.outputs))
    clean = await pipeline.run(stop)
    log.info("pipeline %s stopped: %d events acknowledged, %d failed, %d unacknowledged",
             spec.name, pipeline.stats.events_acked, pipeline.stats.events_failed,
             pipeline.unacknowledged)
    return clean


def run_blocking(spec: PipelineSpec) -> int:
    install_loop_policy()
    try:
        clean = asyncio.run(with_cycle_sweeps(run_pipeline(spec)))
    except Exception:
        log.exception("pipeline %s failed", spec.name)
        return 1
    return 0 if clean else 1
