"""``logpipe run`` as a child process: signals, logs, status endpoint and memory.

Scenarios that kill, stop or reload logpipe drive the real command. The child
runs in its own directory (relative paths such as the default dead-letter
spill file land there), logs JSON lines to a file, and is measured by the
resident memory of its whole process tree (supervisor plus workers).
"""
from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tree_pids(pid: int) -> list[int]:
    """``pid`` and all its descendants (Linux /proc)."""
    out = [pid]
    i = 0
    while i < len(out):
        try:
            for task in os.listdir(f"/proc/{out[i]}/task"):
                with open(f"/proc/{out[i]}/task/{task}/children") as f:
                    out.extend(int(c) for c in f.read().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            pass
        i += 1
    return out


def rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


class Logpipe:
    """One ``logpipe run`` child; ``start()`` may be called again after it exited.

    ``pipeline`` is either the text of a pipeline, written to the child's directory,
    or the path of an existing file (a shipped pipeline), which is run where it is so
    that the test exercises exactly that file.
    """

    def __init__(self, workdir: Path, pipeline: str | Path, *, name: str = "logpipe", workers: int = 1,
                 metrics_port: int | None = None, env: dict[str, str] | None = None,
                 log_level: str = "info") -> None:
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.name = name
        if isinstance(pipeline, Path):
            self.pipeline_file = pipeline.resolve()
        else:
            self.pipeline_file = self.dir / f"{name}.yaml"
            self.pipeline_file.write_text(pipeline)
        self.log_file = self.dir / f"{name}.log"
        self.workers = workers
        self.metrics_port = metrics_port
        self.env = dict(os.environ, PYTHONUNBUFFERED="1", **(env or {}))
        self.log_level = log_level
        self.proc: subprocess.Popen[bytes] | None = None
        self.peak_rss = 0
        self.starts = 0

    # --- process ---------------------------------------------------------------------
    def start(self) -> None:
        cmd = [sys.executable, "-m", "logpipe", "run", "--pipeline", str(self.pipeline_file),
               "--workers", str(self.workers), "--log-format", "json", "--log-level", self.log_level]
        if self.metrics_port is not None:
            cmd += ["--metrics-port", str(self.metrics_port)]
        with self.log_file.open("ab") as log:
            self.proc = subprocess.Popen(cmd, cwd=self.dir, stdout=log, stderr=subprocess.STDOUT,
                                         env=self.env, start_new_session=True)
        self.starts += 1

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def _signal_tree(self, sig: int) -> None:
        for pid in reversed(tree_pids(self.pid)):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    def freeze(self) -> None:
        """SIGSTOP the whole tree: nothing it does (deliveries, offset commits) moves on
        until ``thaw`` or ``kill``, so the state it leaves behind can be read steadily."""
        if self.alive():
            self._signal_tree(signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT the whole tree after ``freeze``."""
        if self.alive():
            self._signal_tree(signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL the whole tree at once (a node lost), and reap it."""
        if not self.alive():
            return
        self._signal_tree(signal.SIGKILL)
        assert self.proc is not None
        self.proc.wait(30)

    def terminate(self, timeout: float = 60.0) -> int:
        """SIGTERM and wait for the exit status (a graceful stop)."""
        assert self.proc is not None
        self.signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"{self.name} did not stop within {timeout}s after SIGTERM")

    def cleanup(self) -> None:
        if self.alive():
            self.kill()

    # --- observation -----------------------------------------------------------------
    def rss(self) -> int:
        if not self.alive():
            return 0
        total = sum(rss_bytes(p) for p in tree_pids(self.pid))
        self.peak_rss = max(self.peak_rss, total)
        return total

    def log_text(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def messages(self) -> list[str]:
        out = []
        for line in self.log_text().splitlines():
            try:
                doc = orjson.loads(line)
                out.append(str(doc.get("msg", "")) + (("\n" + doc["exc"]) if doc.get("exc") else ""))
            except orjson.JSONDecodeError:
                out.append(line)
        return out

    def count_messages(self, pattern: str) -> int:
        rx = re.compile(pattern)
        return sum(1 for m in self.messages() if rx.search(m))

    async def wait_message(self, pattern: str, *, count: int = 1, timeout: float = 60.0) -> None:
        """Wait until the log holds ``count`` lines matching ``pattern``."""
        deadline = time.monotonic() + timeout
        while self.count_messages(pattern) < count:
            if not self.alive():
                raise AssertionError(f"{self.name} exited while waiting for /{pattern}/:\n"
                                     + self.log_text()[-4000:])
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: no /{pattern}/ in the log after {timeout}s:\n"
                                     + self.log_text()[-4000:])
            self.rss()
            await asyncio.sleep(0.1)

    async def status(self, path: str = "/stats") -> Any:
        import aiohttp

        assert self.metrics_port is not None
        async with aiohttp.ClientSession() as s:
            async with s.get(f"http://127.0.0.1:{self.metrics_port}{path}",
                             timeout=aiohttp.ClientTimeout(total=5)) as r:
                body = await r.read()
                return orjson.loads(body) if path == "/stats" else body.decode()


class RssSampler:
    """Samples the tree's RSS every ``interval`` seconds in the background; ``peak`` in bytes."""

    def __init__(self, *procs: Logpipe, interval: float = 0.25) -> None:
        self.procs = procs
        self.interval = interval
        self.peak = 0
        self.samples: list[int] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            total = sum(p.rss() for p in self.procs)
            self.samples.append(total)
            self.peak = max(self.peak, total)
            await asyncio.sleep(self.interval)

    def __enter__(self) -> RssSampler:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
