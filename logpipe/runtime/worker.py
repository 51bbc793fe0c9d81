"""One worker process of a cluster: the whole pipeline, plus a stats feed to the supervisor.

The supervisor starts ``python -m logpipe.runtime.worker --pipeline P --index i
--count N --stats-fd FD``, or has its fork server fork a process that calls
:func:`main` with those arguments. A worker is a plain single-process pipeline: its inputs
bind with SO_REUSEPORT or join the Kafka consumer group, so N of them share the
traffic without knowing of each other.

Once a second (and at every change of state, and when an input hands over its
first events) the worker writes one JSON line with its counters to the
inherited pipe ``FD``. The pipe is also the lifeline:
when the supervisor dies its read end closes, and the worker drains and exits
rather than run on unsupervised. Writes never block: when the supervisor is
behind, a snapshot is skipped (the next one carries the same counters).

``LOGPIPE_WORKER_INDEX`` and ``LOGPIPE_WORKER_COUNT`` are set in the environment
before the pipeline file is read, so ``${LOGPIPE_WORKER_INDEX}`` can tell
workers apart in a pipeline (a file path, a client id).

States reported: ``starting``, ``running`` (plugins started, sockets bound),
``stopping`` (draining), ``stopped``, ``failed`` (could not start).
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import time
from typing import Any

import orjson

from logpipe.config.loader import PipelineSpec, load_file
from logpipe.errors import ConfigError
from logpipe.runtime.metrics import MetricsRegistry

log = logging.getLogger("logpipe.worker")
READY_TIMEOUT = 5.0
#: How long, and how often, a worker watches for its inputs' first events after its start.
FIRST_INTAKE_WATCH = 60.0
FIRST_INTAKE_STEP = 0.02
#: How long a cancelled helper task (stats feed, readiness probe) may take to end.
CANCEL_TIMEOUT = 5.0


class StatsFeed:
    """Newline-delimited JSON snapshots on a pipe, never blocking the event loop."""

    def __init__(self, fd: int, on_lost: Any) -> None:
        self._fd = fd
        self._on_lost = on_lost
        self._transport: asyncio.WriteTransport | None = None
        self._closing = False

    async def open(self) -> None:
        feed = self

        class _Protocol(asyncio.BaseProtocol):
            def connection_lost(self, exc: Exception | None) -> None:
                if not feed._closing:
                    feed._on_lost()

        loop = asyncio.get_running_loop()
        pipe = os.fdopen(self._fd, "wb", buffering=0)
        self._transport, _ = await loop.connect_write_pipe(_Protocol, pipe)

    def send(self, doc: dict[str, Any], *, force: bool = False) -> bool:
        t = self._transport
        if t is None or t.is_closing():
            return False
        if not force and t.get_write_buffer_size() > 0:
            return False
        t.write(orjson.dumps(doc) + b"\n")
        return True

    async def close(self, final: dict[str, Any]) -> None:
        self._closing = True
        t = self._transport
        if t is None or t.is_closing():
            return
        t.write(orjson.dumps(final) + b"\n")
        deadline = time.monotonic() + 5.0
        while t.get_write_buffer_size() > 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        t.close()


class Worker:
    def __init__(self, spec: PipelineSpec, *, index: int = 0, count: int = 1, generation: int = 0,
                 stats_fd: int | None = None, interval: float = 1.0) -> None:
        self.spec = spec
        self.index = index
        self.count = count
        self.generation = generation
        self.interval = interval
        self.state = "starting"
        self.ready = False
        self.ready_reason = "starting"
        self.metrics = MetricsRegistry()
        self.pipeline: Any = None
        self._stats_fd = stats_fd
        self._feed: StatsFeed | None = None
        self._stop = asyncio.Event()

    # --- snapshots -------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        p = self.pipeline
        doc: dict[str, Any] = {
            "pid": os.getpid(), "index": self.index, "generation": self.generation,
            "state": self.state, "ready": self.ready, "ready_reason": self.ready_reason, "time": time.time(), "pipeline": self.spec.name,
            "batches": 0, "events_acked": 0, "events_failed": 0, "unacknowledged": 0,
            "queue": {"events": 0, "bytes": 0, "max_events": 0, "max_bytes": 0},
            "plugins": [], "metrics": self.metrics.snapshot(),
        }
        if p is None:
            return doc
        stats = p.stats
        doc.update(batches=stats.batches, events_acked=stats.events_acked,
                   events_failed=stats.events_failed, unacknowledged=p.unacknowledged)
        q = p.queue
        doc["queue"] = {"events": q.events, "bytes": q.bytes, "max_events": q.max_events,
                        "max_bytes": q.max_bytes}
        plugins = []
        several = hasattr(p, "members")
        for name, spec, member in _members(self.spec, p):
            for entry in spec.plugin_entries():
                s = member.stats.plugins.get(entry.id)
                figures = {"kind": entry.kind, "type": entry.type, "id": entry.id,
                           "events_in": s.events_in if s else 0, "events_out": s.events_out if s else 0,
                           "failures": s.failures if s else 0, "seconds": s.seconds if s else 0.0}
                plugins.append({"pipeline": name, **figures} if several else figures)
        doc["plugins"] = plugins
        if several:
            doc["pipelines"] = [{
                "pipeline": name, "batches": m.stats.batches, "events_acked": m.stats.events_acked,
                "events_failed": m.stats.events_failed, "unacknowledged": m.unacknowledged,
                "queue_events": m.queue.events, "queue_bytes": m.queue.bytes,
                "queue_max_events": m.queue.max_events, "queue_max_bytes": m.queue.max_bytes}
                for name, _spec, m in _members(self.spec, p)]
        return doc

    def publish(self, *, force: bool = False) -> None:
        if self._feed is not None:
            self._feed.send(self.snapshot(), force=force)

    async def _report_loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            self.publish()

    def _input_intake(self) -> dict[tuple[str, str], int]:
        """Events each input has handed to its pipeline so far, by (pipeline, input id)."""
        counts: dict[tuple[str, str], int] = {}
        for name, spec, member in _members(self.spec, self.pipeline):
            for entry in spec.inputs:
                s = member.stats.plugins.get(entry.id)
                counts[(name, entry.id)] = s.events_out if s else 0
        return counts

    async def _first_intake_loop(self) -> None:
        """Publish as soon as an input hands over its first events, not up to a second later.

        After a start, the first events taken are what an operator (``logpipe top``,
        a deployment check, the start-up benchmark) waits to see; the snapshot sent
        then carries the real counters. Inputs that stay idle are watched for
        ``FIRST_INTAKE_WATCH`` seconds at most, with a check every ``FIRST_INTAKE_STEP``.
        """
        waiting = {key for key, n in self._input_intake().items() if n == 0}
        loop = asyncio.get_running_loop()
        until = loop.time() + FIRST_INTAKE_WATCH
        while waiting and loop.time() < until and self.state == "running":
            await asyncio.sleep(FIRST_INTAKE_STEP)
            counts = self._input_intake()
            taken = {key for key in waiting if counts.get(key)}
            if taken:
                waiting -= taken
                self.publish(force=True)

    async def _ready_loop(self) -> None:
        """Ask the pipeline whether it can deliver (outputs' ``ready()``, the dead-letter queue).

        The loop ends by itself once the worker stops running, not only when cancelled:
        ``asyncio.wait_for`` (in ``Pipeline.ready``) can swallow a cancellation that
        arrives as the probe completes, and a probe loop that missed its cancellation
        would keep the worker from ever exiting.
        """
        while self.state == "running":
            ready, reason = (await self.pipeline.ready() if self.pipeline is not None
                             else (False, "starting"))
            if self.state != "running":
                return
            self.ready_reason = reason
            if ready != self.ready:
                self.ready = ready
                log.log(logging.INFO if ready else logging.WARNING,
                        "worker %d: %s", self.index,
                        "outputs reachable" if ready else f"not ready: {self.ready_reason}")
                self.publish(force=True)
            await asyncio.sleep(max(self.interval, 1.0))

    def _lost_supervisor(self) -> None:
        if not self._stop.is_set():
            log.warning("worker %d: supervisor went away; draining and exiting", self.index)
            self._stop.set()

    # --- lifecycle -------------------------------------------------------------------
    async def run(self) -> int:
        from logpipe.core.pipeline import Pipeline
        from logpipe.runtime.signals import release_stops, take_over_stops

        loop = asyncio.get_running_loop()
        take_over_stops(loop, lambda _name: self._stop.set())
        if self._stats_fd is not None:
            self._feed = StatsFeed(self._stats_fd, self._lost_supervisor)
            await self._feed.open()
        tasks = [asyncio.create_task(self._report_loop(), name="stats-feed")]
        try:
            return await self._run(Pipeline, tasks)
        finally:
            # From here on a repeated SIGTERM (the terminal's and the supervisor's) must not
            # kill the process.
            release_stops(loop)
            await _cancel(tasks)
            if self._feed is not None:
                await self._feed.close(self.snapshot())

    async def _run(self, pipeline_cls: Any, tasks: list[asyncio.Task[None]]) -> int:
        settings = self.spec.settings
        if not isinstance(self.spec, PipelineSpec):  # a pipelines.yml: every pipeline, one bus
            from logpipe.runtime.group import PipelineGroup
            pipeline_cls = PipelineGroup
        try:
            self.pipeline = pipeline_cls(self.spec, worker_index=self.index, worker_count=self.count,
                                         metrics=self.metrics)
            await self.pipeline.start()
        except Exception:
            log.exception("worker %d: pipeline %s failed to start", self.index, self.spec.name)
            self.state = "failed"
            if self.pipeline is not None:
                await self.pipeline.shutdown(min(5.0, settings.shutdown_timeout))
            return 1
        self.state = "running"
        log.info("worker %d (pid %d): pipeline %s running", self.index, os.getpid(), self.spec.name)
        self.publish(force=True)
        checks = [asyncio.create_task(self._ready_loop(), name="ready-check")]
        if self._feed is not None:
            checks.append(asyncio.create_task(self._first_intake_loop(), name="first-intake"))
        tasks.extend(checks)
        from logpipe.core.pipeline import until_stopped

        await until_stopped(self._stop, self.pipeline.inputs_done() if self.pipeline.finite else None)
        self.state = "stopping"
        self.ready = False
        # No more readiness probes: one running on into the drain would call outputs that are
        # being stopped, and report the worker ready again while it drains.
        await _cancel(checks)
        self.publish(force=True)
        clean = await self.pipeline.shutdown(settings.shutdown_timeout)
        if self.pipeline.finite and self.pipeline.stats.events_failed:
            log.error("worker %d: %d events could not be delivered", self.index,
                      self.pipeline.stats.events_failed)
            clean = False
        self.state = "stopped"
        stats = self.pipeline.stats
        log.info("worker %d stopped: %d events acknowledged, %d failed, %d unacknowledged", self.index,
                 stats.events_acked, stats.events_failed, self.pipeline.unacknowledged)
        return 0 if clean else 1


async def _cancel(tasks: list[asyncio.Task[None]], timeout: float = CANCEL_TIMEOUT) -> None:
    """Cancel and wait, a bounded time: a task that ignores its cancellation (a client
    library's call that swallows it) must not keep the worker from exiting."""
    for t in tasks:
        t.cancel()
    if not tasks:
        return
    _done, pending = await asyncio.wait(tasks, timeout=timeout)
    for t in pending:
        log.warning("task %s did not end within %.0fs of its cancellation; leaving it", t.get_name(),
                    timeout)


def _members(spec: Any, running: Any) -> list[tuple[str, Any, Any]]:
    """(pipeline name, spec, running pipeline) for one pipeline or each of a pipelines.yml."""
    members = getattr(running, "members", None)
    if members is None:
        return [(spec.name, spec, running)]
    return [(name, p.spec, p) for name, p in members.items()]


async def outputs_ready(outputs: list[Any], timeout: float = READY_TIMEOUT) -> bool:
    """True when every output with a ``ready()`` coroutine says so in time; others count as ready."""
    checks = [o.ready() for o in outputs if callable(getattr(o, "ready", None))]
    if not checks:
        return True
    try:
        results = await asyncio.wait_for(asyncio.gather(*checks, return_exceptions=True), timeout)
    except TimeoutError:
        return False
    return all(r is True for r in results)


class _WorkerTag(logging.Filter):
    """Marks our log lines with the worker index, so interleaved lines can be told apart."""

    def __init__(self, index: int) -> None:
        super().__init__()
        self.suffix = f"[{index}]"

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.endswith(self.suffix):
            record.name += self.suffix
        return True


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m logpipe.runtime.worker")
    p.add_argument("--pipeline", required=True)
    p.add_argument("--index", type=int, default=0)
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--generation", type=int, default=0)
    p.add_argument("--stats-fd", type=int, default=None)
    p.add_argument("--interval", type=float, default=1.0)
    p.add_argument("--log-level", default=None)
    p.add_argument("--log-format", default="auto")
    return p.parse_args(argv)


def load_worker_config(path: str) -> Any:
    """A pipeline file, or a (frozen) pipelines.yml with every pipeline of the process."""
    from logpipe.config import pipelines_yml
    if pipelines_yml.is_pipelines_file(path):
        return pipelines_yml.load(path)
    return load_file(path)


def prefork(spec: Any) -> None:
    """In the fork server: what every forked worker would otherwise do first, done once.

    The modules a worker imports after reading its file (the engine, the event
    loop), and the class method ``prefork(config)`` of each plugin entry whose
    class has one: a class that builds process-wide state at start (a parser's
    rules, say) builds it here, and the workers share it instead of each
    building its own.
    """
    import logpipe.core.pipeline
    from logpipe.runtime import runner  # noqa: F401
    try:
        import uvloop  # noqa: F401
    except ImportError:
        pass
    if not isinstance(spec, PipelineSpec):
        import logpipe.runtime.group  # noqa: F401
    for entry in spec.plugin_entries():
        hook = getattr(entry.cls, "prefork", None)
        if hook is not None:
            hook(entry.config)


def main(argv: list[str] | None = None) -> int:
    from logpipe.runtime import logs
    from logpipe.runtime.runner import install_loop_policy, with_cycle_sweeps

    from logpipe.runtime.signals import hold_early_stop

    args = parse_args(argv)
    # A terminal hangup must not kill workers; reloads are the supervisor's business.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    hold_early_stop()
    os.environ["LOGPIPE_WORKER_INDEX"] = str(args.index)
    os.environ["LOGPIPE_WORKER_COUNT"] = str(args.count)
    logs.setup(args.log_level or "info", args.log_format)
    for handler in logging.getLogger().handlers:
        handler.addFilter(_WorkerTag(args.index))
    try:
        spec: Any = load_worker_config(args.pipeline)
    except ConfigError as err:
        log.error("worker %d: %s", args.index, err)
        return 2
    if args.log_level is None:
        logging.getLogger().setLevel(spec.settings.log_level.upper())
    install_loop_policy()
    worker = Worker(spec, index=args.index, count=args.count, generation=args.generation,
                    stats_fd=args.stats_fd, interval=args.interval)
    try:
        return asyncio.run(with_cycle_sweeps(worker.run()))
    except Exception:
        log.exception("worker %d failed", args.index)
        return 1


if __name__ == "__main__":
    sys.exit(main())
