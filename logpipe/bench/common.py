"""What every scenario shares: result records, ports, processes and their memory."""
from __future__ import annotations

import os
import platform
import socket
import subprocess
import time
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Options:
    """How a scenario is run (from the command line)."""

    quick: bool = False
    workers: int = 0          # 0: the CPU count
    repeat: int = 1
    es_url: str = "http://127.0.0.1:9200"
    kafka_bootstrap: str = "127.0.0.1:9092"
    #: e2e: Elasticsearch on one core, the rest on the others (see bench.pinning).
    pin_cores: bool = True

    @property
    def worker_count(self) -> int:
        return self.workers or os.cpu_count() or 1


@dataclass
class Row:
    """One measured figure of one subject."""

    subject: str
    value: float
    unit: str
    #: The figure divided by the scenario's yardstick (None for the yardstick itself).
    ratio: float | None = None
    detail: str = ""


@dataclass
class Target:
    """A goal from the issue, checked against this run's figure."""

    name: str
    figure: float
    goal: float
    #: ``>=`` (at least the goal) or ``<`` (under the goal).
    op: str = ">="
    unit: str = ""

    @property
    def met(self) -> bool:
        return self.figure >= self.goal if self.op == ">=" else self.figure < self.goal


@dataclass
class ScenarioResult:
    name: str
    title: str
    rows: list[Row] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: Why the scenario did not run (a service is down, a peer is not installed).
    skipped: str | None = None
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "skipped": self.skipped,
            "seconds": round(self.seconds, 2),
            "rows": [asdict(r) for r in self.rows],
            "targets": [{**asdict(t), "met": t.met} for t in self.targets],
            "notes": list(self.notes),
            "extra": self.extra,
        }


def machine() -> dict[str, Any]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return {"cpus": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "load_average": [round(x, 2) for x in load]}


# --- ports and processes ----------------------------------------------------------------
def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for subject processes: this very ``logpipe`` package first on
    the path, so a checkout run from anywhere measures its own code."""
    import logpipe

    root = os.path.dirname(os.path.dirname(os.path.abspath(logpipe.__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    env.update(extra or {})
    return env



def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    """Wait until something listens on 127.0.0.1:port; fail early if ``proc`` dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"subject exited with {proc.returncode} before listening on {port}")
        if port_open("127.0.0.1", port, 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"subject did not listen on {port} within {timeout:.0f}s")


def stop_process(proc: subprocess.Popen[Any], timeout: float = 30.0) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def rss_mb(pid: int) -> float | None:
    """Resident set size of one process in MB (10^6 bytes; None once it is gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024 / 1e6
    except OSError:
        return None
    return None


def children(pid: int) -> list[int]:
    """Processes below ``pid``, children and theirs (Linux): the workers of ``logpipe run`` are
    children of its fork server, itself a child of the supervisor."""
    out: list[int] = []
    parents = [pid]
    while parents:
        parent = parents.pop()
        try:
            with open(f"/proc/{parent}/task/{parent}/children", encoding="ascii") as f:
                found = [int(p) for p in f.read().split()]
        except OSError:
            continue
        out.extend(found)
        parents.extend(found)
    return out
