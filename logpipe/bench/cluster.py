"""``logpipe run --workers N`` as a benchmark subject: start, wait until ready, observe, stop.

The supervisor's status endpoint tells when every worker runs its pipeline
(``/readyz``) and how many events each acknowledged (``/stats``); the worker
pids it reports are what the memory scenario samples.
"""
from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import orjson

from logpipe.bench.common import child_env, free_port, rss_mb, stop_process


class Cluster:
    def __init__(self, pipeline_text: str, workdir: Path, workers: int, *, name: str = "bench") -> None:
        self.path = workdir / f"{name}.yaml"
        self.path.write_text(pipeline_text, encoding="utf-8")
        self.workers = workers
        self.status_port = free_port()
        self.log_path = workdir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90.0) -> Cluster:
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "logpipe", "run", "--pipeline", str(self.path), "--workers",
             str(self.workers), "--metrics-port", str(self.status_port), "--log-level", "warning",
             "--log-format", "text"], stdout=log, stderr=subprocess.STDOUT, env=child_env())
        log.close()
        self.wait_ready(timeout)
        return self

    def _get(self, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.status_port}{path}", timeout=2) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def wait_ready(self, timeout: float) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"logpipe exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                status, _ = self._get("/readyz")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"logpipe did not become ready within {timeout:.0f}s: {self.log_tail()}")

    def stats(self) -> dict[str, Any]:
        _, body = self._get("/stats")
        doc: dict[str, Any] = orjson.loads(body)
        return doc

    def acknowledged(self) -> int:
        return sum(int(w.get("events_acked") or 0) for w in self.stats().get("workers", []))

    def worker_pids(self) -> list[int]:
        return [int(w["pid"]) for w in self.stats().get("workers", []) if w.get("pid")]

    def worker_rss(self) -> list[float]:
        return [m for m in (rss_mb(pid) for pid in self.worker_pids()) if m is not None]

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, timeout=60)

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *_exc: Any) -> None:
        self.stop()
