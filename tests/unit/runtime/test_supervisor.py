"""Supervisor decisions that need no processes: restart delays, exit descriptions, readiness."""
from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from logpipe.config.loader import load_file
from logpipe.runtime.supervisor import RestartPolicy, Slot, Supervisor, WorkerProcess, describe_exit


def test_backoff_doubles_up_to_the_cap_and_resets_after_a_stable_run() -> None:
    policy = RestartPolicy(initial=0.5, maximum=4, stable_after=60)
    delays = []
    delay = 0.0
    for _ in range(6):
        delay = policy.next_delay(delay, ran_for=1.0)
        delays.append(delay)
    assert delays == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert policy.next_delay(4.0, ran_for=61) == 0.5


def test_exit_descriptions() -> None:
    assert describe_exit(1) == "exit code 1"
    assert describe_exit(-signal.SIGKILL) == "signal SIGKILL"


@pytest.fixture
def supervisor(tmp_path: Path) -> Supervisor:
    source = tmp_path / "p.yaml"
    source.write_text("inputs: [{type: generator}]\noutputs: [{type: blackhole}]\n")
    sup = Supervisor(source, load_file(source), 2, interval=1.0)
    sup.store.load()
    return sup


def running_worker(sup: Supervisor, index: int, *, ready: bool = True) -> WorkerProcess:
    w = WorkerProcess(index, sup.generation)
    w.on_snapshot({"state": "running", "ready": ready})
    return w


def test_ready_only_when_every_worker_runs_and_is_ready(supervisor: Supervisor) -> None:
    sup = supervisor
    assert sup.readiness() == (False, "worker 0 is restarting")
    sup.slots[0].worker = running_worker(sup, 0)
    sup.slots[1].worker = running_worker(sup, 1, ready=False)
    assert sup.readiness() == (False, "worker 1: an output is not reachable")
    sup.slots[1].worker = running_worker(sup, 1)
    assert sup.readiness() == (True, "ok")
    sup.slots[1].worker.snapshot_at = time.monotonic() - 60
    assert sup.readiness()[0] is False
    sup.slots[1] = Slot(1, finished=True)
    assert sup.readiness() == (True, "ok")
    sup.stopping = True
    assert sup.readiness() == (False, "shutting down")


def test_status_lists_workers_and_sums_their_figures(supervisor: Supervisor) -> None:
    sup = supervisor
    for i, acked in ((0, 10), (1, 32)):
        w = running_worker(sup, i)
        w.snapshot.update(events_acked=acked, plugins=[])  # type: ignore[union-attr]
        sup.slots[i].worker = w
        sup.live.add(w)
    sup.slots[1].restarts = 3
    doc = sup.stats_document()
    assert doc["totals"]["events_acked"] == 42
    assert [w["events_acked"] for w in doc["workers"]] == [10, 32]
    assert doc["restarts"] == 3 and doc["workers_running"] == 2
    text = sup.metrics_text().decode()
    assert 'logpipe_events_acked_total{pipeline="p"} 42.0' in text
    assert 'logpipe_worker_restarts_total{pipeline="p",worker="1"} 3.0' in text
