"""Several pipelines in one process: the pipelines of a pipelines.yml, and their bus.

Each pipeline keeps what it has alone: its queue, workers, dead-letter queue,
counters and settings. The group owns what they share: the address bus of the
``pipeline`` inputs and outputs, the process's shared resources, and the
metrics registry, which it hands to each pipeline with a ``pipeline`` label on
every series.

Start-up goes receivers first, so that a sender finds its listener; shutdown
goes senders first: a sending pipeline drains while its receivers still run,
so its last batches are settled downstream, and only then do the receivers
drain. The group has the interface of one :class:`~logpipe.core.pipeline.Pipeline`
as far as the worker process and the single-process runner use it.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Mapping

from logpipe.config.pipelines_yml import PipelinesSpec
from logpipe.core.bus import PipelineBus
from logpipe.core.metrics import PipelineStats
from logpipe.core.pipeline import Pipeline, until_stopped
from logpipe.core.services import Resources
from logpipe.core.telemetry import Counter, Gauge, Histogram, MetricsRegistry

log = logging.getLogger("logpipe.pipelines")


class LabelledMetrics(MetricsRegistry):
    """A view of the process registry that adds fixed labels (``pipeline``) to every series."""

    def __init__(self, base: MetricsRegistry, labels: Mapping[str, str]) -> None:
        super().__init__()
        self._base = base
        self._labels = dict(labels)

    def _with(self, labels: Mapping[str, Any] | None) -> dict[str, Any]:
        return {**(labels or {}), **self._labels}

    def counter(self, name: str, labels: Mapping[str, Any] | None = None, *, help: str = "") -> Counter:
        return self._base.counter(name, self._with(labels), help=help)

    def gauge(self, name: str, labels: Mapping[str, Any] | None = None, *, help: str = "",
              merge: str = "sum") -> Gauge:
        return self._base.gauge(name, self._with(labels), help=help, merge=merge)

    def histogram(self, name: str, labels: Mapping[str, Any] | None = None, *, help: str = "",
                  buckets: Any = None) -> Histogram:
        if buckets is None:
            return self._base.histogram(name, self._with(labels), help=help)
        return self._base.histogram(name, self._with(labels), help=help, buckets=buckets)

    def remove(self, name: str, labels: Mapping[str, Any] | None = None) -> None:
        self._base.remove(name, self._with(labels))

    def snapshot(self) -> list[dict[str, Any]]:
        return self._base.snapshot()


class _QueueTotals:
    """The members' queues added up (what a worker reports as its queue)."""

    def __init__(self, members: list[Pipeline]) -> None:
        self._members = members

    def _sum(self, attr: str) -> int:
        return sum(getattr(p.queue, attr) for p in self._members)

    @property
    def events(self) -> int:
        return self._sum("events")

    @property
    def bytes(self) -> int:
        return self._sum("bytes")

    @property
    def max_events(self) -> int:
        return self._sum("max_events")

    @property
    def max_bytes(self) -> int:
        return self._sum("max_bytes")


class PipelineGroup:
    def __init__(self, spec: PipelinesSpec, *, worker_index: int = 0, worker_count: int = 1,
                 metrics: MetricsRegistry | None = None, resources: Resources | None = None) -> None:
        self.spec = spec
        self.metrics = metrics if metrics is not None else MetricsRegistry()
        self.bus = PipelineBus()
        self.resources = resources if resources is not None else Resources()
        self.members: dict[str, Pipeline] = {}
        for member in spec.pipelines:
            self.members[member.name] = Pipeline(
                member, worker_index=worker_index, worker_count=worker_count,
                metrics=LabelledMetrics(self.metrics, {"pipeline": member.name}),
                resources=self.resources, bus=self.bus)
        self.order = [self.members[name] for name in spec.order]
        self.queue = _QueueTotals(list(self.members.values()))
        self._started: list[Pipeline] = []

    @property
    def stats(self) -> PipelineStats:
        total = PipelineStats()
        for p in self.members.values():
            total.batches += p.stats.batches
            total.events_acked += p.stats.events_acked
            total.events_failed += p.stats.events_failed
            total.events_dead_lettered += p.stats.events_dead_lettered
        return total

    @property
    def unacknowledged(self) -> int:
        return sum(p.unacknowledged for p in self.members.values())

    @property
    def _sources(self) -> list[Pipeline]:
        """Pipelines that take events from outside (not only from other pipelines)."""
        return [p for p in self.members.values()
                if any(e.type != "pipeline" for e in p.spec.inputs)]

    @property
    def finite(self) -> bool:
        """Whether the group ends by itself: every outside source is finite."""
        sources = self._sources
        return bool(sources) and all(p.finite for p in sources)

    async def inputs_done(self) -> None:
        await asyncio.gather(*(p.inputs_done() for p in self._sources))

    async def start(self) -> None:
        """Receivers first, so that each sender finds its listeners."""
        for pipeline in reversed(self.order):
            self._started.append(pipeline)
            await pipeline.start()
            log.info("pipeline %s started", pipeline.spec.name)

    async def ready(self) -> tuple[bool, str]:
        for name, pipeline in self.members.items():
            ok, reason = await pipeline.ready()
            if not ok:
                return False, f"pipeline {name}: {reason}"
        return True, ""

    async def shutdown(self, timeout: float) -> bool:
        """Senders first: each drains into receivers that still run. All of it within
        ``timeout`` (the supervisor kills a worker soon after), each pipeline at most its own
        grace period; a receiver left with no time still gets a moment to settle what it can
        (what it cannot stays unacknowledged, and its sender delivers it again)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        clean = True
        for pipeline in self.order:
            if pipeline not in self._started:
                continue
            own = min(pipeline.settings.shutdown_timeout, max(deadline - loop.time(), 0.5))
            clean = await pipeline.shutdown(own) and clean
        self._started.clear()
        return clean

    async def run(self, stop: asyncio.Event | None = None) -> bool:
        """Run until stopped (or until every outside source is finite and done)."""
        stop = stop or asyncio.Event()
        await self.start()
        await until_stopped(stop, self.inputs_done() if self.finite else None)
        clean = await self.shutdown(self.spec.settings.shutdown_timeout)
        if self.finite and self.stats.events_failed:
            log.error("%d events could not be delivered", self.stats.events_failed)
            return False
        return clean


async def run_group(spec: PipelinesSpec, *, stop: asyncio.Event | None = None) -> bool:
    """Run every pipeline of a pipelines.yml in this process until SIGTERM/SIGINT."""
    from logpipe.runtime.signals import take_over_stops

    stop = stop or asyncio.Event()
    take_over_stops(asyncio.get_running_loop(), lambda _name: stop.set())
    group = PipelineGroup(spec)
    log.info("pipelines %s starting (%s)", ", ".join(spec.order), spec.source)
    clean = await group.run(stop)
    for name, p in group.members.items():
        log.info("pipeline %s stopped: %d events acknowledged, %d failed, %d unacknowledged",
                 name, p.stats.events_acked, p.stats.events_failed, p.unacknowledged)
    return clean


async def run_group_reloadable(source: str, spec: PipelinesSpec) -> bool:
    """One process; SIGHUP checks the pipelines.yml and every pipeline again, and when all is
    good drains every pipeline and starts the new set (the sockets close briefly, as with one
    pipeline in one process)."""
    import signal

    from logpipe.config import pipelines_yml
    from logpipe.errors import ConfigError

    loop = asyncio.get_running_loop()
    current = spec
    while True:
        stop = asyncio.Event()
        pending: list[PipelinesSpec] = []

        def on_hup(stop: asyncio.Event = stop, pending: list[PipelinesSpec] = pending) -> None:
            try:
                new = pipelines_yml.load(source)
            except ConfigError as err:
                log.error("reload refused, the running pipelines stay: %s", err)
                return
            log.info("reload: pipelines.yml accepted; draining every pipeline")
            pending.append(new)
            stop.set()

        loop.add_signal_handler(signal.SIGHUP, on_hup)
        try:
            clean = await run_group(current, stop=stop)
        finally:
            loop.remove_signal_handler(signal.SIGHUP)
        if not pending:
            return clean
        current = pending[-1]


def run_blocking_group(source: str, spec: PipelinesSpec) -> int:
    from logpipe.runtime.runner import install_loop_policy, with_cycle_sweeps
    from logpipe.runtime.signals import release_stops

    install_loop_policy()

    async def main() -> bool:
        try:
            return await run_group_reloadable(source, spec)
        finally:
            release_stops(asyncio.get_running_loop())

    try:
        clean = asyncio.run(with_cycle_sweeps(main()))
    except Exception:
        log.exception("pipelines of %s failed", source)
        return 1
    return 0 if clean else 1
