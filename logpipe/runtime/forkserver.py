"""Workers forked from a process that has already imported and checked the pipeline.

A worker started as a fresh interpreter spends most of its start-up importing:
the plugins' modules and their clients (aiohttp, aiokafka, redis, the
Elasticsearch client), all of which the supervisor has just imported to check
the configuration. On Linux the supervisor therefore forks, once, a *fork
server*: a copy of itself taken after the configuration was checked and before
its event loop exists, which from then on only forks workers on request. A
forked worker runs what a spawned one runs (:func:`logpipe.runtime.worker.main`
reads its generation's file, builds and starts the pipeline), without the
imports.

Why a separate process rather than forking the supervisor itself: a running
supervisor has an event loop (an epoll set and a signal wake-up descriptor that
a child would share), threads (child watchers, name resolution) and the status
server's listening socket, and a fork copies all of them into the worker. The
fork server is forked while none of these exist and keeps it that way (one
thread, no event loop, no listening socket), so initial, restarted and reloaded
workers all start from the same clean state.

Talking to it:

- requests, supervisor to server, on a Unix socket pair: one JSON line
  (``{"id", "argv", "env"}``: the worker's arguments and the variables that
  differ from the supervisor's environment) with the worker's stats-pipe
  descriptor attached (SCM_RIGHTS);
- answers, server to supervisor, on a pipe, JSON lines: ``{"id", "pid"}`` or
  ``{"id", "error"}`` for each request, and ``{"pid", "exit"}`` when a worker has
  exited (a negative status: killed by that signal, as :mod:`subprocess` says it).

The server reaps its workers and reports their exits. It ignores SIGINT,
SIGTERM and SIGHUP: a terminal's Ctrl-C reaches the whole process group, and
what follows is the supervisor's decision. It exits when its request socket
reaches end-of-file: the supervisor closed it once its workers were gone, or
died. Should the server go away while the supervisor runs, the supervisor
spawns workers from then on, and counts the exit of each worker the server had
forked (seen when its stats pipe closes) as a failure, its real status being
lost.

In a forked worker the server's descriptors are closed, the signal wake-up
descriptor is reset and stops are held as a worker holds them, the supervisor's exit
handlers are dropped (one removes the temporary file of ``logpipe run -e``) and
the worker's own run at its end, and the process leaves with ``os._exit`` so that
none of the supervisor's ``finally`` blocks run there. :mod:`random` reseeds
itself in a forked child; the string-hash seed is the supervisor's, in every
worker (no part of logpipe depends on it differing between workers).

Workers are spawned as before on systems other than Linux (macOS's system
libraries are not safe in a child that forks without exec), when the supervisor
already runs a second thread when the server would be forked, or with
``LOGPIPE_WORKER_START=spawn``.
"""
from __future__ import annotations

import asyncio
import atexit
import gc
import logging
import os
import select
import signal
import socket
import sys
import threading
from collections.abc import Callable
from typing import Any, NoReturn

import orjson

from logpipe.errors import ConfigError

log = logging.getLogger("logpipe.supervisor")

#: ``fork`` (the default where possible) or ``spawn``.
START_ENV = "LOGPIPE_WORKER_START"
#: Exit status of a server or forked worker that failed before it could do better.
_FAILED = 70
#: What a worker's exit counts as once the server that could have told its status is gone.
UNKNOWN_EXIT = 1


def fork_unavailable() -> str | None:
    """Why workers cannot be forked from this process right now; None when they can."""
    choice = (os.environ.get(START_ENV) or "fork").strip().lower()
    if choice == "spawn":
        return f"{START_ENV}=spawn"
    if choice != "fork":
        raise ConfigError(f"{START_ENV} is {choice!r}; it takes fork or spawn")
    if not sys.platform.startswith("linux") or not hasattr(os, "fork"):
        return f"forking without exec is not safe on {sys.platform}"
    if threading.active_count() > 1:
        return f"{threading.active_count()} threads are running"
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return None
    return "an event loop is running"


class ForkedProcess:
    """A worker forked by the server: what the supervisor uses of ``asyncio.subprocess.Process``."""

    def __init__(self, pid: int, ended: asyncio.Event | None = None) -> None:
        self.pid = pid
        self.returncode: int | None = None
        #: Set when the worker is gone by other evidence (its stats pipe closed).
        self.ended = ended
        self._done = asyncio.Event()
        self._orphan_task: asyncio.Task[None] | None = None

    async def wait(self) -> int:
        await self._done.wait()
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            os.kill(self.pid, sig)

    def exited(self, code: int) -> None:
        if self.returncode is None:
            self.returncode = code
            self._done.set()

    def orphaned(self) -> None:
        """The server is gone: the exit will be seen, its status will not."""
        if self.returncode is not None or self._orphan_task is not None:
            return

        async def watch() -> None:
            if self.ended is not None:
                await self.ended.wait()
            self.exited(UNKNOWN_EXIT)

        self._orphan_task = asyncio.ensure_future(watch())


class _Answers(asyncio.Protocol):
    def __init__(self, server: ForkServer) -> None:
        self.server = server
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        *lines, self.buffer = self.buffer.split(b"\n")
        for line in lines:
            if line:
                self.server._answer(orjson.loads(line))

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.server._gone()


class ForkServer:
    """The supervisor's end: start the server, ask it for workers, learn their exits."""

    def __init__(self, pid: int, requests: socket.socket, answers: int) -> None:
        self.pid = pid
        self._requests = requests
        self._answers_fd = answers
        self._next_id = 0
        self._pending: dict[int, tuple[asyncio.Future[ForkedProcess], asyncio.Event | None]] = {}
        self._procs: dict[int, ForkedProcess] = {}
        self._transport: asyncio.BaseTransport | None = None
        self._on_lost: Callable[[], None] | None = None
        self._closing = False
        self._closed = asyncio.Event()
        #: False once the server is gone (or going): start workers another way.
        self.usable = True

    @classmethod
    def launch(cls, prepare: Callable[[], None] | None = None) -> ForkServer:
        """Fork the server now; ``prepare`` runs in it first (imports, caches to share)."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        read_fd, write_fd = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the server process
            try:
                ours.close()
                os.close(read_fd)
                _Server(theirs, write_fd).serve(prepare)
            finally:
                os._exit(_FAILED)
        theirs.close()
        os.close(write_fd)
        # A server that stops reading must not freeze the supervisor's loop for long.
        ours.settimeout(10.0)
        return cls(pid, ours, read_fd)

    async def open(self, on_lost: Callable[[], None] | None = None) -> None:
        """Start reading answers (in the supervisor's event loop)."""
        self._on_lost = on_lost
        loop = asyncio.get_running_loop()
        pipe = os.fdopen(self._answers_fd, "rb", buffering=0)
        self._transport, _ = await loop.connect_read_pipe(lambda: _Answers(self), pipe)

    async def spawn(self, argv: list[str], env: dict[str, str], stats_fd: int, *,
                    ended: asyncio.Event | None = None) -> ForkedProcess:
        """A worker running ``python -m logpipe.runtime.worker *argv --stats-fd <stats_fd>``."""
        if not self.usable:
            raise OSError("the fork server is gone")
        self._next_id += 1
        request_id = self._next_id
        future: asyncio.Future[ForkedProcess] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = (future, ended)
        line = orjson.dumps({"id": request_id, "argv": argv, "env": env}) + b"\n"
        try:
            socket.send_fds(self._requests, [line], [stats_fd])
        except OSError:
            self._pending.pop(request_id, None)
            self._gone()
            raise
        return await future

    def _answer(self, doc: dict[str, Any]) -> None:
        if "exit" in doc:
            proc = self._procs.pop(int(doc["pid"]), None)
            if proc is not None:
                proc.exited(int(doc["exit"]))
            return
        future, ended = self._pending.pop(int(doc["id"]), (None, None))
        if future is None or future.done():
            return
        if "error" in doc:
            future.set_exception(OSError(f"the fork server could not start a worker: {doc['error']}"))
            return
        # Registered here, not after the await: the exit may be in the very same read.
        proc = ForkedProcess(int(doc["pid"]), ended)
        self._procs[proc.pid] = proc
        future.set_result(proc)

    def _gone(self) -> None:
        """The answers pipe closed, or a request could not be sent: no more answers come."""
        if not self.usable:
            return
        self.usable = False
        self._closed.set()
        for future, _ended in self._pending.values():
            if not future.done():
                future.set_exception(OSError("the fork server is gone"))
        self._pending.clear()
        if self._closing:
            return
        log.error("the fork server (pid %d) exited; workers are spawned from now on, and the "
                  "exit of the %d it started will count as a failure", self.pid, len(self._procs))
        for proc in self._procs.values():
            proc.orphaned()
        self._procs.clear()
        if self._on_lost is not None:
            self._on_lost()

    async def close(self, timeout: float = 5.0) -> None:
        """Let the server go (once the workers are gone) and reap it."""
        self._closing = True
        self._requests.close()
        if self._transport is not None:
            try:
                await asyncio.wait_for(self._closed.wait(), timeout)
            except TimeoutError:
                log.warning("the fork server (pid %d) did not exit; killing it", self.pid)
                _kill(self.pid)
            self._transport.close()
        else:
            os.close(self._answers_fd)
        self.usable = False
        try:
            # The server has closed its end of the pipe: it is exiting, or gone.
            os.waitpid(self.pid, 0)  # noqa: ASYNC222
        except ChildProcessError:
            pass


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _ignore(signum: int, frame: Any) -> None:
    """A Python-level SIGCHLD handler, so that the signal writes to the wake-up descriptor."""


class _Server:
    """The server process: fork on request, reap, report. Synchronous on purpose."""

    def __init__(self, requests: socket.socket, answers: int) -> None:
        self.requests = requests
        self.answers = answers
        self.wake_r, self.wake_w = os.pipe()
        self.children = 0
        #: Descriptors received for requests not yet complete (or not yet served).
        self.fds: list[int] = []

    def serve(self, prepare: Callable[[], None] | None) -> NoReturn:
        code = _FAILED
        try:
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(sig, signal.SIG_IGN)
            os.set_blocking(self.wake_r, False)
            os.set_blocking(self.wake_w, False)
            signal.set_wakeup_fd(self.wake_w)
            signal.signal(signal.SIGCHLD, _ignore)
            if prepare is not None:
                try:
                    prepare()
                except Exception:
                    log.exception("fork server: preparing failed (workers will do it themselves)")
            # What is alive now lives in every worker: keep the collector (and its writes to
            # shared pages) away from it. No collection first: it would find a few hundred
            # objects and cost every start 30 ms.
            gc.freeze()
            self._loop()
            code = 0
        except BaseException:
            log.exception("fork server failed")
        finally:
            os._exit(code)

    def _loop(self) -> None:
        poller = select.poll()
        poller.register(self.requests.fileno(), select.POLLIN)
        poller.register(self.wake_r, select.POLLIN)
        buffer = b""
        while True:
            self._reap()
            for fd, _events in poller.poll():
                if fd == self.wake_r:
                    self._drain_wakeups()
                    continue
                data, new_fds, _flags, _address = socket.recv_fds(self.requests, 65536, 8)
                self.fds.extend(new_fds)
                if not data:
                    for extra in self.fds:
                        os.close(extra)
                    return
                buffer += data
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    self._fork(orjson.loads(line), self.fds.pop(0) if self.fds else None)

    def _drain_wakeups(self) -> None:
        try:
            while os.read(self.wake_r, 512):
                pass
        except BlockingIOError:
            pass

    def _reap(self) -> None:
        while self.children:
            try:
                pid, wait_status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                self.children = 0
                return
            if pid == 0:
                return
            self.children -= 1
            self._send({"pid": pid, "exit": os.waitstatus_to_exitcode(wait_status)})

    def _send(self, doc: dict[str, Any]) -> None:
        os.write(self.answers, orjson.dumps(doc) + b"\n")

    def _fork(self, request: dict[str, Any], stats_fd: int | None) -> None:
        request_id = request.get("id")
        try:
            argv = [str(a) for a in request["argv"]]
            env = {str(k): str(v) for k, v in (request.get("env") or {}).items()}
            if stats_fd is not None:
                argv += ["--stats-fd", str(stats_fd)]
            pid = os.fork()
        except (OSError, KeyError, TypeError, ValueError) as exc:
            if stats_fd is not None:
                os.close(stats_fd)
            self._send({"id": request_id, "error": str(exc)})
            return
        if pid == 0:  # pragma: no cover - runs in the worker process
            self._become_worker(argv, env)
        self.children += 1
        if stats_fd is not None:
            os.close(stats_fd)
        self._send({"id": request_id, "pid": pid})

    def _become_worker(self, argv: list[str], env: dict[str, str]) -> NoReturn:
        code: int = _FAILED
        try:
            self.requests.close()
            # Other workers' stats pipes (requests read in the same go) must not stay open
            # here: their supervisor end would never see them close.
            for fd in (self.answers, self.wake_r, self.wake_w, *self.fds):
                os.close(fd)
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            # As the worker's main() would: a stop from now on is recorded, not lost, and
            # not fatal before the worker's loop takes it over.
            from logpipe.runtime import signals
            signals.reset()
            signals.hold_early_stop()
            atexit._clear()
            os.environ.update(env)
            from logpipe.runtime import worker
            sys.argv = [worker.__file__ or "logpipe.runtime.worker", *argv]
            code = worker.main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:
            log.exception("worker failed")
            code = 1
        finally:
            _leave(code)


def _leave(code: int) -> NoReturn:
    """End a forked worker as an interpreter ends: threads joined, exit handlers run, output flushed."""
    try:
        threading._shutdown()  # type: ignore[attr-defined]
        atexit._run_exitfuncs()
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
    finally:
        os._exit(code)
