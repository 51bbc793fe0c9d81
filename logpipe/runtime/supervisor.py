"""The supervisor: N worker processes running one pipeline, kept alive, reloaded, observed.

Workers are separate processes: a crash takes down one worker only, and
signals go to exactly the process they are meant for. On Linux they are forked
by a fork server (``forkserver.py``) that the supervisor forks once, after it has
imported the plugins and checked the configuration and before its event loop
starts, so a worker skips the interpreter start and the imports; elsewhere, or
with ``LOGPIPE_WORKER_START=spawn``, each is a new interpreter
(``python -m logpipe.runtime.worker``). Either way a worker reads its
generation's file and builds its pipeline itself. Each worker runs the whole
pipeline; inputs share the traffic through SO_REUSEPORT or a Kafka consumer group.

- A worker that exits non-zero or dies by a signal is restarted after a delay
  that doubles on every quick failure (0.5 s up to 30 s) and starts again from
  the bottom once a worker has run for a minute. What it had accepted but not
  delivered was never acknowledged, so its input's sender delivers it again.
- A worker that exits 0 on its own has finished a finite pipeline; when all have,
  the supervisor exits too.
- SIGTERM/SIGINT: every worker gets SIGTERM and drains; stragglers get SIGKILL
  once ``shutdown_timeout`` (plus a margin) has passed. Exit 0 only when every
  worker exited 0. A second SIGTERM/SIGINT kills the workers at once.
- SIGHUP: the file is checked (``reload.ConfigStore``); a bad one is refused and
  logged. A good one replaces workers one at a time: the new worker i starts and
  reports that its listeners are bound, then the old worker i is told to drain.
  With SO_REUSEPORT both accept during the handover, so no connection is refused
  and nothing accepted is dropped. If a new worker cannot start, the workers
  already replaced are put back on the previous version.

The figures of every worker reach the supervisor as JSON lines on a pipe (see
``worker.py``) and are served, added up, by ``health.StatusServer``.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable, Protocol

import orjson

from logpipe.config.loader import PipelineSpec
from logpipe.errors import ConfigError
from logpipe.runtime.forkserver import ForkServer, fork_unavailable
from logpipe.runtime.metrics import ClusterCollector, ClusterTotals, families_json
from logpipe.runtime.reload import ConfigStore, Generation
from logpipe.runtime.signals import take_over_stops

log = logging.getLogger("logpipe.supervisor")
KILL_MARGIN = 5.0


@dataclass
class RestartPolicy:
    initial: float = 0.5
    maximum: float = 30.0
    #: A worker that ran at least this long failed for a new reason: start the backoff again.
    stable_after: float = 60.0

    def next_delay(self, previous: float, ran_for: float) -> float:
        if previous <= 0 or ran_for >= self.stable_after:
            return self.initial
        return min(previous * 2, self.maximum)


class _StatsReader(asyncio.Protocol):
    def __init__(self, worker: WorkerProcess) -> None:
        self.worker = worker
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        *lines, self.buffer = self.buffer.split(b"\n")
        for line in lines:
            if not line:
                continue
            try:
                doc = orjson.loads(line)
            except orjson.JSONDecodeError:
                log.debug("worker %d sent an unreadable stats line", self.worker.index)
                continue
            self.worker.on_snapshot(doc)

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.worker.feed_closed.set()


class ChildProcess(Protocol):
    """What the supervisor uses of a worker's process, spawned or forked."""

    @property
    def pid(self) -> int: ...

    @property
    def returncode(self) -> int | None: ...

    async def wait(self) -> int: ...

    def send_signal(self, sig: int) -> None: ...


class WorkerProcess:
    """One worker: its process, stats pipe and latest snapshot."""

    def __init__(self, index: int, generation: Generation) -> None:
        self.index = index
        self.generation = generation
        self.proc: ChildProcess | None = None
        self.snapshot: dict[str, Any] | None = None
        self.snapshot_at = 0.0
        self.started = time.monotonic()
        self.retiring = False
        self.running = asyncio.Event()
        self.feed_closed = asyncio.Event()
        self.exited = asyncio.Event()
        #: Set once the supervisor has folded in its figures and forgotten it.
        self.gone = asyncio.Event()
        self.returncode: int | None = None
        self._transport: asyncio.BaseTransport | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def state(self) -> str:
        if self.exited.is_set():
            return "exited"
        return str((self.snapshot or {}).get("state", "starting"))

    def on_snapshot(self, doc: dict[str, Any]) -> None:
        self.snapshot = doc
        self.snapshot_at = time.monotonic()
        if doc.get("state") == "running":
            self.running.set()

    async def spawn(self, command: list[str], env: dict[str, str]) -> None:
        """A fresh interpreter running ``command``."""
        async def start(write_fd: int) -> ChildProcess:
            return await asyncio.create_subprocess_exec(
                *command, "--stats-fd", str(write_fd), pass_fds=(write_fd,), env=env)
        await self._start(start)

    async def fork(self, server: ForkServer, args: list[str], env: dict[str, str]) -> None:
        """A copy of the fork server running the worker with ``args``; ``env``: what differs."""
        async def start(write_fd: int) -> ChildProcess:
            return await server.spawn(args, env, write_fd, ended=self.feed_closed)
        await self._start(start)

    async def _start(self, start: Callable[[int], Awaitable[ChildProcess]]) -> None:
        loop = asyncio.get_running_loop()
        read_fd, write_fd = os.pipe()
        try:
            self.proc = await start(write_fd)
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        self.started = time.monotonic()
        pipe = os.fdopen(read_fd, "rb", buffering=0)
        self._transport, _ = await loop.connect_read_pipe(lambda: _StatsReader(self), pipe)

    async def wait(self) -> int:
        """Wait for exit, then for the last snapshot on the pipe (bounded)."""
        assert self.proc is not None
        code = await self.proc.wait()
        try:
            await asyncio.wait_for(self.feed_closed.wait(), 2.0)
        except TimeoutError:
            pass
        if self._transport is not None:
            self._transport.close()
        self.returncode = code
        self.exited.set()
        return code

    async def wait_running(self, timeout: float) -> bool:
        """True once the worker reports its pipeline started; False if it exits or times out first."""
        waits = [asyncio.ensure_future(self.running.wait()), asyncio.ensure_future(self.exited.wait())]
        try:
            await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()
        return self.running.is_set() and not self.exited.is_set()

    def signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.returncode is None:
            try:
                self.proc.send_signal(sig)
            except ProcessLookupError:
                pass


@dataclass
class Slot:
    """Worker position i: the process currently filling it and its restart history."""

    index: int
    worker: WorkerProcess | None = None
    restarts: int = 0
    backoff: float = 0.0
    finished: bool = False
    last_exit: int | None = None
    restart_task: asyncio.Task[None] | None = field(default=None, repr=False)


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


class Supervisor:
    def __init__(self, source: str | Path, spec: PipelineSpec, workers: int, *,
                 metrics_host: str | None = None, metrics_port: int | None = None,
                 log_level: str | None = None, log_format: str = "auto",
                 policy: RestartPolicy | None = None, interval: float = 1.0,
                 start_timeout: float = 60.0, fork_server: ForkServer | None = None) -> None:
        self.count = workers
        #: Where workers come from when it is usable; spawned interpreters otherwise.
        self.fork_server = fork_server
        self.store = store_for(source, count=workers)
        self.metrics_host = metrics_host or spec.settings.metrics_host
        self.metrics_port = metrics_port if metrics_port is not None else spec.settings.metrics_port
        self.log_level = log_level
        self.log_format = log_format
        self.policy = policy or RestartPolicy()
        self.interval = interval
        self.start_timeout = start_timeout
        self.slots = [Slot(i) for i in range(workers)]
        self.live: set[WorkerProcess] = set()
        self.totals = ClusterTotals()
        self.stopping = False
        self.reloads = {"success": 0, "failure": 0}
        self.started_at = time.time()
        self.server: Any = None
        self._done = asyncio.Event()
        self._kill_now = False
        self._reload_task: asyncio.Task[None] | None = None
        self._reload_again = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stop_codes: list[int] = []

    @property
    def generation(self) -> Generation:
        assert self.store.current is not None
        return self.store.current

    # --- processes -------------------------------------------------------------------
    def _worker_args(self, index: int, gen: Generation) -> list[str]:
        args = ["--pipeline", str(gen.path), "--index", str(index), "--count", str(self.count),
                "--generation", str(gen.number), "--interval", str(self.interval),
                "--log-format", self.log_format]
        if self.log_level:
            args += ["--log-level", self.log_level]
        return args

    def _command(self, index: int, gen: Generation) -> list[str]:
        return [sys.executable, "-m", "logpipe.runtime.worker", *self._worker_args(index, gen)]

    async def _start_worker(self, index: int, gen: Generation) -> WorkerProcess:
        worker = WorkerProcess(index, gen)
        own = {"LOGPIPE_WORKER_INDEX": str(index), "LOGPIPE_WORKER_COUNT": str(self.count)}
        server = self.fork_server
        if server is not None and server.usable:
            await worker.fork(server, self._worker_args(index, gen), own)
            how = "forked"
        else:
            await worker.spawn(self._command(index, gen), dict(os.environ, **own))
            how = "spawned"
        self.live.add(worker)
        log.info("worker %d started: pid %s, generation %d (%s)", index, worker.pid, gen.number, how)
        if self.stopping:
            worker.signal(signal.SIGKILL if self._kill_now else signal.SIGTERM)
        self._spawn_task(self._watch(worker))
        return worker

    def _spawn_task(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _watch(self, worker: WorkerProcess) -> None:
        code = await worker.wait()
        # Keep its counters before it leaves the live set: no await in between.
        self.totals.retire(worker.snapshot)
        self.live.discard(worker)
        worker.gone.set()
        if self.stopping:
            self._stop_codes.append(code)
        slot = self.slots[worker.index]
        if worker.retiring or slot.worker is not worker:
            log.info("worker %d (pid %s, generation %d) exited: %s", worker.index, worker.pid,
                     worker.generation.number, describe_exit(code))
            return
        slot.last_exit = code
        slot.worker = None
        if self.stopping:
            return
        if code == 0:
            slot.finished = True
            log.info("worker %d finished its pipeline", worker.index)
            if all(s.finished for s in self.slots):
                self._done.set()
            return
        ran_for = time.monotonic() - worker.started
        slot.backoff = self.policy.next_delay(slot.backoff, ran_for)
        log.error("worker %d (pid %s) died: %s after %.1fs; restarting in %.1fs", worker.index,
                  worker.pid, describe_exit(code), ran_for, slot.backoff)
        slot.restart_task = self._spawn_task(self._restart_later(slot, slot.backoff))

    async def _restart_later(self, slot: Slot, delay: float) -> None:
        if await self._sleep_unless_stopping(delay):
            return
        if slot.worker is not None or self.stopping:
            return
        slot.restarts += 1
        slot.worker = await self._start_worker(slot.index, self.generation)

    async def _sleep_unless_stopping(self, delay: float) -> bool:
        """Sleep; True when a shutdown began meanwhile."""
        stopper = asyncio.ensure_future(self._done.wait())
        try:
            await asyncio.wait([stopper], timeout=delay)
        finally:
            stopper.cancel()
        return self.stopping

    async def _retire(self, worker: WorkerProcess, timeout: float) -> int | None:
        """Drain one worker: SIGTERM, then SIGKILL once ``timeout`` has passed."""
        worker.retiring = True
        worker.signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(worker.exited.wait(), timeout)
        except TimeoutError:
            log.error("worker %d (pid %s) did not drain in %.0fs; killing it", worker.index, worker.pid,
                      timeout)
            worker.signal(signal.SIGKILL)
            await worker.exited.wait()
        return worker.returncode

    # --- reload ----------------------------------------------------------------------
    def request_reload(self) -> None:
        if self.stopping or self.store.current is None:
            return
        if self._reload_task is not None and not self._reload_task.done():
            self._reload_again = True
            log.info("reload already in progress; another one will follow")
            return
        self._reload_task = self._spawn_task(self._reload_loop())

    async def _reload_loop(self) -> None:
        while True:
            self._reload_again = False
            try:
                await self.reload()
            except Exception:
                log.exception("reload failed")
                self.reloads["failure"] += 1
            if not self._reload_again or self.stopping:
                return

    async def reload(self) -> bool:
        old = self.generation
        try:
            text, spec = self.store.check()
        except ConfigError as err:
            self.reloads["failure"] += 1
            log.error("reload refused, generation %d keeps running: %s", old.number, err)
            return False
        if spec.settings.workers not in (None, self.count):
            log.warning("reload: the number of workers changes only on restart (running %d)", self.count)
        new = self.store.accept(text, spec)
        log.info("reload: %s accepted as generation %d; replacing workers one at a time",
                 self.store.source, new.number)
        replaced: list[Slot] = []
        for slot in self.slots:
            if self.stopping:
                return False
            if slot.finished or slot.worker is None:
                continue  # a worker waiting to restart picks up the new generation
            if not await self._replace(slot, new):
                log.error("reload: worker %d did not start with generation %d; going back to "
                          "generation %d", slot.index, new.number, old.number)
                self.store.current = old
                for done in replaced:
                    if not self.stopping:
                        await self._replace(done, old)
                self.reloads["failure"] += 1
                return False
            replaced.append(slot)
        self.reloads["success"] += 1
        log.info("reload complete: generation %d running on %d workers", new.number, len(replaced))
        return True

    async def _replace(self, slot: Slot, gen: Generation) -> bool:
        """Start the successor of slot i, and only once it runs, drain the predecessor."""
        new = await self._start_worker(slot.index, gen)
        new.retiring = True  # not the slot's worker until it runs
        if not await new.wait_running(self.start_timeout):
            await self._retire(new, 5.0)
            return False
        if new.exited.is_set():
            return False
        old = slot.worker
        new.retiring = False
        slot.worker = new
        if slot.restart_task is not None and not slot.restart_task.done():
            slot.restart_task.cancel()
        if old is not None and old is not new:
            await self._retire(old, self.generation.spec.settings.shutdown_timeout + KILL_MARGIN)
        return True

    # --- shutdown --------------------------------------------------------------------
    def request_stop(self, signame: str = "SIGTERM") -> None:
        if self.stopping:
            if not self._kill_now:
                log.warning("%s again: killing workers now", signame)
                self._kill_now = True
                for w in list(self.live):
                    w.signal(signal.SIGKILL)
            return
        log.info("%s: stopping %d workers", signame, len(self.live))
        self.stopping = True
        for w in list(self.live):
            w.retiring = True
            w.signal(signal.SIGTERM)
        self._done.set()

    async def _drain_all(self) -> None:
        """Wait for every worker to exit; SIGKILL what is left once the grace period is over."""
        grace = self.generation.spec.settings.shutdown_timeout + KILL_MARGIN
        deadline = time.monotonic() + grace
        while self.live:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                for w in list(self.live):
                    log.error("worker %d (pid %s) did not drain in %.0fs; killing it", w.index, w.pid, grace)
                    w.signal(signal.SIGKILL)
                remaining = None  # type: ignore[assignment]
            waits = [asyncio.ensure_future(w.gone.wait()) for w in self.live]
            try:
                await asyncio.wait(waits, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for f in waits:
                    f.cancel()

    # --- views -----------------------------------------------------------------------
    def readiness(self) -> tuple[bool, str]:
        if self.stopping:
            return False, "shutting down"
        stale_after = max(5.0, 5 * self.interval)
        now = time.monotonic()
        for slot in self.slots:
            if slot.finished:
                continue
            w = slot.worker
            if w is None:
                return False, f"worker {slot.index} is restarting"
            if w.state != "running":
                return False, f"worker {slot.index} is {w.state}"
            if now - w.snapshot_at > stale_after:
                return False, f"worker {slot.index} has not reported for {now - w.snapshot_at:.0f}s"
            if not (w.snapshot or {}).get("ready"):
                why = (w.snapshot or {}).get("ready_reason") or "an output is not reachable"
                return False, f"worker {slot.index}: {why}"
        return True, "ok"

    def status(self) -> dict[str, Any]:
        live = [w.snapshot for w in self.live if w.snapshot]
        totals = self.totals.combine(live)
        ready, reason = self.readiness()
        workers = []
        for slot in self.slots:
            w = slot.worker
            snap = (w.snapshot if w else None) or {}
            workers.append({
                "index": slot.index, "pid": w.pid if w else None,
                "generation": w.generation.number if w else None,
                "state": "finished" if slot.finished else (w.state if w else "restarting"),
                "ready": bool(snap.get("ready")), "restarts": slot.restarts, "last_exit": slot.last_exit,
                "uptime": round(time.monotonic() - w.started, 3) if w else 0.0,
                "events_acked": snap.get("events_acked", 0), "events_failed": snap.get("events_failed", 0),
                "queue_events": (snap.get("queue") or {}).get("events", 0),
            })
        retiring = [{"index": w.index, "pid": w.pid, "generation": w.generation.number, "state": w.state}
                    for w in self.live if all(w is not s.worker for s in self.slots)]
        return {
            "pipeline": self.generation.spec.name, "source": str(self.store.source),
            "generation": self.generation.number, "pid": os.getpid(), "time": time.time(),
            "uptime": round(time.time() - self.started_at, 3),
            "state": "stopping" if self.stopping else "running",
            "ready": ready, "ready_reason": reason,
            "workers_expected": self.count,
            "workers_running": sum(1 for w in workers if w["state"] == "running"),
            "restarts": sum(s.restarts for s in self.slots),
            "reloads": dict(self.reloads),
            "workers": workers, "draining": retiring,
            "totals": totals,
        }

    def stats_document(self) -> dict[str, Any]:
        doc = self.status()
        doc["totals"]["metrics"] = families_json(doc["totals"]["metrics"])
        return doc

    def metrics_text(self) -> bytes:
        from prometheus_client import CollectorRegistry, generate_latest

        registry = CollectorRegistry(auto_describe=False)
        registry.register(ClusterCollector(self.status))
        return generate_latest(registry)

    # --- main ------------------------------------------------------------------------
    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, self.request_reload)
        take_over_stops(loop, self.request_stop)
        if self.fork_server is not None:
            await self.fork_server.open()
        try:
            text, spec = self.store.check()
        except ConfigError:
            self.store.cleanup()
            if self.fork_server is not None:
                await self.fork_server.close()
            raise
        gen = self.store.accept(text, spec)
        try:
            if self.metrics_port is not None:
                from logpipe.runtime.health import StatusServer

                self.server = StatusServer(self.metrics_host, self.metrics_port, status=self.stats_document,
                                           ready=self.readiness, metrics=self.metrics_text)
                await self.server.start()
            log.info("supervisor (pid %d): pipeline %s, %d workers", os.getpid(), spec.name, self.count)
            for slot in self.slots:
                if self.stopping:
                    break
                slot.worker = await self._start_worker(slot.index, gen)
            await self._done.wait()
            if not self.stopping:  # every worker finished a finite pipeline
                self.stopping = True
            await self._drain_all()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            status = self.status()["totals"]
            log.info("cluster stopped: %d events acknowledged, %d failed, %d restarts",
                     status["events_acked"], status["events_failed"], sum(s.restarts for s in self.slots))
            return 0 if all(c == 0 for c in self._final_codes()) else 1
        finally:
            if self.server is not None:
                await self.server.stop()
            if self.fork_server is not None:
                await self.fork_server.close()
            self.store.cleanup()

    def _final_codes(self) -> list[int]:
        """Exit codes that decide ours: workers stopped by the shutdown, finished or crash-looping slots."""
        codes = list(self._stop_codes)
        for slot in self.slots:
            if slot.worker is None and slot.last_exit is not None:
                codes.append(slot.last_exit)
        return codes


def store_for(source: str | Path, *, count: int) -> Any:
    """The configuration store: one pipeline file, or a pipelines.yml with several."""
    from logpipe.config.pipelines_yml import is_pipelines_file
    if is_pipelines_file(source):
        from logpipe.runtime.pipelines_store import PipelinesStore
        return PipelinesStore(source, count=count)
    return ConfigStore(source, count=count)


def supervise(args: argparse.Namespace, spec: PipelineSpec, workers: int) -> int:
    """Entry point from ``logpipe run``: run the cluster until it is stopped."""
    source = Path(spec.source)
    sup = Supervisor(source, spec, workers, metrics_host=getattr(args, "metrics_host", None),
                     metrics_port=getattr(args, "metrics_port", None),
                     log_level=getattr(args, "log_level", None),
                     log_format=getattr(args, "log_format", "auto") or "auto",
                     fork_server=launch_fork_server(spec))
    try:
        return asyncio.run(sup.run())
    except ConfigError:
        raise
    except Exception:
        log.exception("supervisor failed")
        return 1


def launch_fork_server(spec: Any) -> ForkServer | None:
    """The fork server, forked now (the plugins are imported, the loop not yet started);
    None where workers must be spawned (see ``forkserver``)."""
    why = fork_unavailable()
    if why is not None:
        log.info("workers are spawned as new interpreters: %s", why)
        return None
    from logpipe.runtime.worker import prefork

    return ForkServer.launch(lambda: prefork(spec))
