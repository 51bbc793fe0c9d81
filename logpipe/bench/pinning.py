"""Elasticsearch on one core, everything measured on the other(s), for the e2e scenario.

On a small machine the local Elasticsearch and logpipe fight for the same
cores, and a loader that sends finished bytes leaves Elasticsearch more CPU
than logpipe can: the ratio then measures spare CPU, not whether logpipe
keeps Elasticsearch busy. So, for the measurement only, the running
Elasticsearch (every thread of its java process) is pinned to one core with
``taskset -a -p``, and the driver (this process: the bulk loader, the HTTP
senders, the Kafka producer) and the ``logpipe run`` it starts to the
remaining cores; all affinities are put back afterwards. Elasticsearch is
never restarted. The local Kafka broker goes with the traffic side: it only
carries records from the producer to logpipe's consumer, and left where it was
it takes time on Elasticsearch's core during logpipe's rounds (the loader's
never touch Kafka), which would count against logpipe as Elasticsearch being
slower.

Only one run pins at a time: an exclusive lock on a file in the temporary
directory is held from pinning until the affinities are restored. Two runs at
once (from two checkouts on a shared machine) would otherwise each save the
other's pinning as "the affinity to restore", and one could unpin
Elasticsearch in the middle of the other's measurement.

The same by hand::

    taskset -a -p -c 0 "$(pgrep -f org.elasticsearch.bootstrap.Elasticsearch)"
    taskset -a -p -c 1 "$(pgrep -f kafka.Kafka)"
    taskset -c 1 logpipe run ...    # and the traffic sender / loader
    taskset -a -p -c 0-1 "$(pgrep -f org.elasticsearch.bootstrap.Elasticsearch)"   # restore
    taskset -a -p -c 0-1 "$(pgrep -f kafka.Kafka)"
"""
from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import IO, Any

ES_MARKER = b"org.elasticsearch.bootstrap.Elasticsearch"
KAFKA_MARKER = b"kafka.Kafka"
LOCK_PATH = Path(tempfile.gettempdir()) / "logpipe-bench-pinning.lock"


class PinningLock:
    """An exclusive ``flock`` on ``path``, released by the kernel if the holder dies."""

    def __init__(self, path: Path = LOCK_PATH) -> None:
        self.path = path
        self._file: IO[bytes] | None = None

    def acquire(self, wait: bool = True) -> bool:
        """Take the lock; without ``wait``, False when another holder has it."""
        if self._file is not None:
            return True
        handle = open(self.path, "ab")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                handle.close()
                return False
            print(f"waiting for another benchmark to restore its core pinning ({self.path})",
                  file=sys.stderr, flush=True)
            fcntl.flock(handle, fcntl.LOCK_EX)
        self._file = handle
        return True

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def pids_with(marker: bytes) -> list[int]:
    """Processes whose command line holds ``marker`` (a JVM's main class), this one excepted."""
    found = []
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            if marker in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def elasticsearch_pids() -> list[int]:
    """Local Elasticsearch server processes (by the class on their command line)."""
    return pids_with(ES_MARKER)


def kafka_pids() -> list[int]:
    """Local Kafka brokers (by the class on their command line)."""
    return pids_with(KAFKA_MARKER)


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process so far (all its threads)."""
    try:
        fields = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def _cpu_list(cpus: set[int]) -> str:
    return ",".join(str(c) for c in sorted(cpus))


def _taskset_all(pid: int, cpus: set[int]) -> None:
    subprocess.run(["taskset", "-a", "-p", "-c", _cpu_list(cpus), str(pid)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


class CorePinning:
    """``with CorePinning() as pin:`` Elasticsearch on ``pin.es_cpus``, this process (and
    what it starts from then on) and the Kafka broker on ``pin.own_cpus``; ``pin.reason``
    says why not, if not. The markers pick the processes by command line (tests give
    their own)."""

    def __init__(self, es_marker: bytes = ES_MARKER, traffic_markers: tuple[bytes, ...] = (KAFKA_MARKER,),
                 lock: PinningLock | None = None) -> None:
        self.es_marker = es_marker
        self.traffic_markers = traffic_markers
        self.es_pids: list[int] = []
        self.traffic_pids: list[int] = []
        self.es_cpus: set[int] = set()
        self.own_cpus: set[int] = set()
        self.reason: str | None = None
        #: Each pinned process (Elasticsearch, the broker) -> the affinity to restore.
        self._saved: dict[int, set[int]] = {}
        self._saved_own: set[int] | None = None
        self._lock = lock or PinningLock()

    @property
    def active(self) -> bool:
        return self.reason is None

    def __enter__(self) -> CorePinning:
        allowed = os.sched_getaffinity(0)
        if len(allowed) < 2:
            self.reason = "one CPU only: nothing to pin"
            return self
        if shutil.which("taskset") is None:
            self.reason = "taskset is not installed (util-linux)"
            return self
        self.es_pids = pids_with(self.es_marker)
        if not self.es_pids:
            self.reason = "no local Elasticsearch process found to pin"
            return self
        first = min(allowed)
        self.es_cpus, self.own_cpus = {first}, allowed - {first}
        self._lock.acquire()
        try:
            for pid in self.es_pids:
                self._saved[pid] = os.sched_getaffinity(pid)
                _taskset_all(pid, self.es_cpus)
            self.traffic_pids = [pid for marker in self.traffic_markers for pid in pids_with(marker)]
            for pid in self.traffic_pids:
                self._saved[pid] = os.sched_getaffinity(pid)
                _taskset_all(pid, self.own_cpus)
            self._saved_own = allowed
            _taskset_all(os.getpid(), self.own_cpus)
        except (OSError, subprocess.CalledProcessError) as exc:
            self.reason = f"could not pin: {exc}"
            self._restore()
        return self

    def _restore(self) -> None:
        for pid, cpus in self._saved.items():
            try:
                _taskset_all(pid, cpus)
            except (OSError, subprocess.CalledProcessError):
                pass  # the process is gone
        self._saved.clear()
        if self._saved_own is not None:
            _taskset_all(os.getpid(), self._saved_own)
            self._saved_own = None
        self._lock.release()

    def __exit__(self, *_exc: Any) -> None:
        self._restore()

    def es_cpu_seconds(self) -> float:
        return sum(cpu_seconds(pid) or 0.0 for pid in self.es_pids)

    def describe(self) -> str:
        if not self.active:
            return f"cores not pinned: {self.reason}"
        return (f"Elasticsearch (pid {', '.join(map(str, self.es_pids))}) pinned to CPU "
                f"{_cpu_list(self.es_cpus)}; logpipe, the loader, the traffic senders"
                + (f" and Kafka (pid {', '.join(map(str, self.traffic_pids))})" if self.traffic_pids else "")
                + f" to CPU {_cpu_list(self.own_cpus)} (taskset -a -p; restored afterwards)")
