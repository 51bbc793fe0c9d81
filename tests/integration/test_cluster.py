"""``logpipe run --workers 2``: a supervised cluster of worker processes, end to end.

Each scenario starts the real command, drives it with signals and reads its
status endpoint. Waits poll /stats or files against a deadline.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.slow

# Each worker emits one burst of 300 events, then idles (the next burst would be due in days):
# counts are exact, which is what a sum across workers is checked against.
BURST = """
settings:
  shutdown_timeout: 10
inputs:
  - {type: generator, id: gen, count: 0, rate: 0.001, batch: 300}
outputs:
  - {type: file, id: out, path: "%(dir)s/out-${LOGPIPE_WORKER_INDEX}.jsonl"}
"""

# A steady flow, so that reloads and shutdown happen while events are moving.
FLOW = """
settings:
  shutdown_timeout: 10
inputs:
  - {type: generator, id: gen, count: 0, rate: 400, batch: 40}
outputs:
  - {type: file, id: out, path: "%(dir)s/out-%(tag)s-${LOGPIPE_WORKER_INDEX}.jsonl"}
"""

# The same flow plus a TCP listener on a given port.
WITH_LISTENER = """
settings:
  shutdown_timeout: 10
inputs:
  - {type: generator, id: gen, count: 0, rate: 400, batch: 40}
  - {type: tcp, id: tcp_in, host: 127.0.0.1, port: %(port)d}
outputs:
  - {type: file, id: out, path: "%(dir)s/out-b-${LOGPIPE_WORKER_INDEX}.jsonl"}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(what: str, predicate: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class Cluster:
    def __init__(self, tmp: Path, text: str, env: dict[str, str] | None = None) -> None:
        self.dir = tmp
        self.pipeline = tmp / "cluster.yaml"
        self.pipeline.write_text(text)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp / "logpipe.log"
        self._log_file = self.log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "logpipe", "run", "--pipeline", str(self.pipeline), "--workers", "2",
             "--metrics-port", str(self.port), "--log-format", "json"],
            cwd=tmp, stdout=subprocess.DEVNULL, stderr=self._log_file, env={**os.environ, **(env or {})})

    def stats(self) -> dict[str, Any] | None:
        try:
            return httpx.get(self.url + "/stats", timeout=2).json()  # type: ignore[no-any-return]
        except httpx.TransportError:
            assert self.proc.poll() is None, f"logpipe exited early:\n{self.log.read_text()}"
            return None

    def when(self, what: str, check: Callable[[dict[str, Any]], bool], timeout: float = 30.0) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            s = self.stats()
            return s if s is not None and check(s) else None
        return wait_for(what, probe, timeout)  # type: ignore[no-any-return]

    def metrics(self) -> str:
        return httpx.get(self.url + "/metrics", timeout=2).text

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def stop(self) -> int:
        self.signal(signal.SIGTERM)
        return self.proc.wait(60)

    def messages(self) -> list[str]:
        out = []
        for line in self.log.read_text().splitlines():
            try:
                out.append(json.loads(line)["msg"])
            except (ValueError, KeyError):
                out.append(line)
        return out

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._log_file.close()


@pytest.fixture
def cluster_factory(tmp_path: Path) -> Iterator[Callable[..., Cluster]]:
    made: list[Cluster] = []

    def make(text: str, env: dict[str, str] | None = None) -> Cluster:
        c = Cluster(tmp_path, text, env)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def all_running(s: dict[str, Any]) -> bool:
    return s["workers_running"] == 2 and all(w["state"] == "running" for w in s["workers"])


def metric(text: str, name: str, **labels: str) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(f"{name}{{{want}}} "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name}{{{want}}} not in /metrics")


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers are forked on Linux only")
def test_workers_and_their_replacements_are_forked_by_one_fork_server(
        tmp_path: Path, cluster_factory: Callable[..., Cluster]) -> None:
    c = cluster_factory(BURST % {"dir": tmp_path})
    s = c.when("both bursts acknowledged",
               lambda s: all_running(s) and [w["events_acked"] for w in s["workers"]] == [300, 300])
    pids = [w["pid"] for w in s["workers"]]
    servers = {parent_of(pid) for pid in pids}
    assert len(servers) == 1
    server = servers.pop()
    assert server != c.proc.pid and server not in pids and parent_of(server) == c.proc.pid
    assert sum(m.startswith("worker ") and m.endswith(" (forked)") for m in c.messages()) == 2

    os.kill(pids[0], signal.SIGKILL)
    s = c.when("worker 0 restarted and writing its burst",
               lambda s: all_running(s) and s["workers"][0]["pid"] != pids[0]
               and s["workers"][0]["events_acked"] == 300)
    assert parent_of(s["workers"][0]["pid"]) == server
    assert s["workers"][0]["restarts"] == 1

    assert c.stop() == 0
    assert len(lines(tmp_path / "out-0.jsonl")) == 600
    assert not Path(f"/proc/{server}").exists()


def test_with_worker_start_spawn_workers_are_new_interpreters(
        tmp_path: Path, cluster_factory: Callable[..., Cluster]) -> None:
    c = cluster_factory(BURST % {"dir": tmp_path}, {"LOGPIPE_WORKER_START": "spawn"})
    s = c.when("both bursts acknowledged",
               lambda s: all_running(s) and [w["events_acked"] for w in s["workers"]] == [300, 300])
    if sys.platform.startswith("linux"):
        assert all(parent_of(w["pid"]) == c.proc.pid for w in s["workers"])
    assert sum(m.startswith("worker ") and m.endswith(" (spawned)") for m in c.messages()) == 2
    assert any("spawned as new interpreters: LOGPIPE_WORKER_START=spawn" in m for m in c.messages())
    assert c.stop() == 0


def test_metrics_sum_the_workers_and_a_killed_worker_comes_back(tmp_path: Path,
                                                                 cluster_factory: Callable[..., Cluster]) -> None:
    c = cluster_factory(BURST % {"dir": tmp_path})
    s = c.when("both bursts acknowledged",
               lambda s: all_running(s) and [w["events_acked"] for w in s["workers"]] == [300, 300])
    assert s["totals"]["events_acked"] == 600
    assert len({w["pid"] for w in s["workers"]}) == 2 and s["pid"] not in {w["pid"] for w in s["workers"]}

    text = c.metrics()
    assert metric(text, "logpipe_events_acked_total", pipeline="cluster") == 600
    assert metric(text, "logpipe_events_out_total", pipeline="cluster", kind="input", type="generator",
                  id="gen") == 600
    assert metric(text, "logpipe_events_out_total", pipeline="cluster", kind="output", type="file", id="out") == 600
    assert metric(text, "logpipe_workers_running", pipeline="cluster") == 2
    assert metric(text, "logpipe_queue_max_events", pipeline="cluster") == 2 * 20_000
    assert httpx.get(c.url + "/healthz").status_code == 200
    c.when("ready", lambda s: s["ready"])
    assert httpx.get(c.url + "/readyz").status_code == 200

    top = subprocess.run([sys.executable, "-m", "logpipe", "top", "--once", "--interval", "0.1", "--url", c.url],
                         capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "160"})
    assert top.returncode == 0, top.stderr
    assert "gen" in top.stdout and "generator" in top.stdout and "file" in top.stdout
    assert str(s["workers"][0]["pid"]) in top.stdout

    victim = s["workers"][0]["pid"]
    os.kill(victim, signal.SIGKILL)
    s = c.when("worker 0 restarted", lambda s: all_running(s) and s["workers"][0]["pid"] != victim
               and s["workers"][0]["events_acked"] == 300)
    assert s["workers"][0]["restarts"] == 1 and s["restarts"] == 1
    assert s["workers"][1]["restarts"] == 0
    # the killed worker's counts stay in the totals, so counters never go down
    assert s["totals"]["events_acked"] == 900
    text = c.metrics()
    assert metric(text, "logpipe_worker_restarts_total", pipeline="cluster", worker="0") == 1
    assert metric(text, "logpipe_events_acked_total", pipeline="cluster") == 900

    assert c.stop() == 0
    assert len(lines(tmp_path / "out-0.jsonl")) == 600
    assert len(lines(tmp_path / "out-1.jsonl")) == 300


def test_reload_replaces_workers_without_losing_events(tmp_path: Path,
                                                       cluster_factory: Callable[..., Cluster]) -> None:
    c = cluster_factory(FLOW % {"dir": tmp_path, "tag": "a"})
    s = c.when("flowing", lambda s: all_running(s) and all(w["events_acked"] > 0 for w in s["workers"]))
    first_pids = [w["pid"] for w in s["workers"]]

    # A broken file is refused; the running workers carry on untouched.
    c.pipeline.write_text("inputs:\n  - {type: nosuchinput}\n")
    c.signal(signal.SIGHUP)
    s = c.when("refused reload", lambda s: s["reloads"]["failure"] == 1)
    assert s["generation"] == 1 and [w["pid"] for w in s["workers"]] == first_pids
    acked = s["totals"]["events_acked"]
    c.when("events still flowing", lambda s: s["totals"]["events_acked"] > acked)
    assert any("reload refused" in m and "nosuchinput" in m for m in c.messages())

    # A good file replaces the workers one by one.
    c.pipeline.write_text(FLOW % {"dir": tmp_path, "tag": "b"})
    c.signal(signal.SIGHUP)
    s = c.when("reloaded", lambda s: s["reloads"]["success"] == 1 and all_running(s) and not s["draining"])
    assert s["generation"] == 2 and all(w["generation"] == 2 for w in s["workers"])
    assert not set(first_pids) & {w["pid"] for w in s["workers"]}
    assert s["restarts"] == 0
    wait_for("new generation writing", lambda: all(lines(tmp_path / f"out-b-{i}.jsonl") for i in (0, 1)))

    assert c.stop() == 0
    final = [m for m in c.messages() if m.startswith("cluster stopped:")]
    assert final, c.log.read_text()
    acknowledged = int(final[0].split()[2])
    total = 0
    for tag in ("a", "b"):
        for index in (0, 1):
            seqs = sorted(e["sequence"] for e in lines(tmp_path / f"out-{tag}-{index}.jsonl"))
            # every worker numbers its events from 0: a gap or a repeat would be a lost or doubled event
            assert seqs == list(range(len(seqs))), (tag, index)
            assert seqs, (tag, index)
            total += len(seqs)
    assert total == acknowledged


def test_sigterm_drains_and_exits_zero(tmp_path: Path, cluster_factory: Callable[..., Cluster]) -> None:
    c = cluster_factory(FLOW % {"dir": tmp_path, "tag": "a"})
    before = c.when("flowing", lambda s: all_running(s) and s["totals"]["events_acked"] > 200)
    assert c.stop() == 0
    written = sum(len(lines(tmp_path / f"out-a-{i}.jsonl")) for i in (0, 1))
    assert written >= before["totals"]["events_acked"]
    final = [m for m in c.messages() if m.startswith("cluster stopped:")]
    assert int(final[0].split()[2]) == written


def test_a_new_version_that_cannot_start_is_rolled_back(tmp_path: Path,
                                                        cluster_factory: Callable[..., Cluster]) -> None:
    """The file is valid, but its listener cannot bind: the workers stay on the running version."""
    c = cluster_factory(FLOW % {"dir": tmp_path, "tag": "a"})
    s = c.when("flowing", lambda s: all_running(s) and all(w["events_acked"] > 0 for w in s["workers"]))
    pids = [w["pid"] for w in s["workers"]]
    with socket.socket() as taken:  # a listener without SO_REUSEPORT: nobody else may bind the port
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        c.pipeline.write_text(WITH_LISTENER % {"dir": tmp_path, "port": port})
        c.signal(signal.SIGHUP)
        s = c.when("rolled back", lambda s: s["reloads"]["failure"] == 1 and all_running(s) and not s["draining"],
                   timeout=60)
    assert [w["pid"] for w in s["workers"]] == pids
    assert s["generation"] == 1 and s["restarts"] == 0
    assert any("did not start with generation 2" in m for m in c.messages())
    assert c.stop() == 0
