"""The e2e scenario's core pinning: Elasticsearch alone on one core, the traffic side
(this process, what it starts, the Kafka broker) on the others, everything put back.

Stand-in processes carry the markers the pinning looks for on their command lines,
so the test moves no real server.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

from logpipe.bench.pinning import CorePinning, PinningLock, pids_with

SLEEPER = "import sys; print('up', flush=True); sys.stdin.read()"


def _stand_in(marker: str) -> subprocess.Popen[bytes]:
    """A process with ``marker`` on its command line (as a JVM has its main class), once it
    runs: until its first line, /proc may still show the command line it was forked with."""
    proc = subprocess.Popen([sys.executable, "-c", SLEEPER, marker], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline() == b"up\n"
    return proc


def test_servers_are_found_by_their_command_line() -> None:
    marker = f"stand-in-{uuid.uuid4().hex}"
    proc = _stand_in(marker)
    try:
        assert pids_with(marker.encode()) == [proc.pid]
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=30)
    assert pids_with(marker.encode()) == []


def test_broker_joins_the_traffic_side_and_everything_is_restored(tmp_path: Path) -> None:
    allowed = os.sched_getaffinity(0)
    es_marker, kafka_marker = f"es-{uuid.uuid4().hex}", f"kafka-{uuid.uuid4().hex}"
    es, broker = _stand_in(es_marker), _stand_in(kafka_marker)
    try:
        before = {pid: os.sched_getaffinity(pid) for pid in (es.pid, broker.pid, os.getpid())}
        pin = CorePinning(es_marker.encode(), (kafka_marker.encode(),), PinningLock(tmp_path / "lock"))
        with pin:
            if len(allowed) < 2 or shutil.which("taskset") is None:
                # Nothing to pin on this machine: it must say so and move nothing.
                assert not pin.active and pin.reason
                assert os.sched_getaffinity(es.pid) == before[es.pid]
                return
            assert pin.active, pin.reason
            first = min(allowed)
            assert os.sched_getaffinity(es.pid) == {first}
            assert os.sched_getaffinity(broker.pid) == allowed - {first}
            assert os.sched_getaffinity(0) == allowed - {first}
            assert pin.traffic_pids == [broker.pid]
            assert f"Kafka (pid {broker.pid})" in pin.describe()
        after = {pid: os.sched_getaffinity(pid) for pid in (es.pid, broker.pid, os.getpid())}
        assert after == before
    finally:
        for proc in (es, broker):
            assert proc.stdin is not None
            proc.stdin.close()
            proc.wait(timeout=30)
