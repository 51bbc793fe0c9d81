"""The fork server: workers forked on request run their pipeline, and their exits are reported.

These tests fork the test process itself (the server is a copy of it) and drive
the server from an event loop started afterwards, as the supervisor does. Waits
are on the worker's own stats pipe and on the exit reports, never on time.
"""
from __future__ import annotations

import asyncio
import atexit
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from logpipe.config.loader import load_file
from logpipe.errors import ConfigError
from logpipe.runtime.forkserver import UNKNOWN_EXIT, ForkServer, fork_unavailable
from logpipe.runtime.reload import Generation, validation_env
from logpipe.runtime.supervisor import WorkerProcess

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers are forked on Linux only")

FINITE = """
inputs:
  - {type: generator, id: gen, count: 120, batch: 40}
outputs:
  - {type: file, id: out, path: "%s/out-${LOGPIPE_WORKER_INDEX}-${FORK_TEST_TAG}.jsonl"}
"""

ENDLESS = """
inputs:
  - {type: generator, id: gen, count: 0, rate: 50, batch: 5}
outputs:
  - {type: blackhole}
"""


@pytest.fixture
def server() -> Iterator[ForkServer]:
    fs = ForkServer.launch()
    yield fs
    if fs.usable:
        # A test that failed before closing: let the server go without a loop.
        fs._requests.close()
        os.waitpid(fs.pid, 0)


def worker_args(pipeline: Path, index: int, count: int = 2) -> list[str]:
    return ["--pipeline", str(pipeline), "--index", str(index), "--count", str(count),
            "--interval", "0.05", "--log-level", "warning"]


def own_env(index: int, count: int = 2) -> dict[str, str]:
    """What the supervisor sets for a worker, and one variable only this worker has."""
    return {"LOGPIPE_WORKER_INDEX": str(index), "LOGPIPE_WORKER_COUNT": str(count),
            "FORK_TEST_TAG": f"tag{index}"}


def generation(path: Path) -> Generation:
    return Generation(1, path, load_file(path, env={**validation_env(2), **own_env(0)}))


def test_forked_workers_run_their_own_pipeline_and_their_exits_are_reported(server: ForkServer,
                                                                            tmp_path: Path) -> None:
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(FINITE % tmp_path)

    async def main() -> list[tuple[int, dict | None]]:
        await server.open()
        workers = [WorkerProcess(i, generation(pipeline)) for i in range(2)]
        for i, w in enumerate(workers):
            await w.fork(server, worker_args(pipeline, i), own_env(i))
        codes = [await w.wait() for w in workers]
        await server.close()
        return [(code, w.snapshot) for code, w in zip(codes, workers)]

    results = asyncio.run(main())
    pids = set()
    for index, (code, final) in enumerate(results):
        assert code == 0
        assert final is not None and final["state"] == "stopped" and final["index"] == index
        assert final["events_acked"] == 120
        pids.add(final["pid"])
        # The worker's own environment named its output file.
        assert len((tmp_path / f"out-{index}-tag{index}.jsonl").read_text().splitlines()) == 120
    assert "FORK_TEST_TAG" not in os.environ
    assert len(pids) == 2 and os.getpid() not in pids and server.pid not in pids
    with pytest.raises(ChildProcessError):
        os.waitpid(server.pid, os.WNOHANG)  # reaped by close()


def test_a_killed_worker_is_reported_and_the_server_forks_the_next(server: ForkServer, tmp_path: Path) -> None:
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(ENDLESS)

    async def main() -> tuple[int, int, int]:
        await server.open()
        first = WorkerProcess(0, generation(pipeline))
        await first.fork(server, worker_args(pipeline, 0), own_env(0))
        assert await first.wait_running(60)
        first.signal(signal.SIGKILL)
        killed = await first.wait()
        # The stops a terminal sends to the whole group do not stop the server.
        os.kill(server.pid, signal.SIGINT)
        os.kill(server.pid, signal.SIGTERM)
        second = WorkerProcess(0, generation(pipeline))
        await second.fork(server, worker_args(pipeline, 0), own_env(0))
        assert await second.wait_running(60)
        assert second.pid != first.pid
        second.signal(signal.SIGTERM)
        drained = await second.wait()
        await server.close()
        return killed, drained, len(server._procs)

    killed, drained, left = asyncio.run(main())
    assert killed == -signal.SIGKILL
    assert drained == 0
    assert left == 0


def test_the_supervisors_exit_handlers_do_not_run_in_a_worker(tmp_path: Path) -> None:
    """``logpipe run -e`` removes its temporary file at exit: a worker's exit must not."""
    marker = tmp_path / "exit-handler-ran"
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(FINITE % tmp_path)

    def handler() -> None:  # pragma: no cover - must not run in the test's lifetime
        marker.write_text(str(os.getpid()))

    atexit.register(handler)  # before the server is forked: the server and workers inherit it
    try:
        server = ForkServer.launch()

        async def main() -> int:
            await server.open()
            w = WorkerProcess(0, generation(pipeline))
            await w.fork(server, worker_args(pipeline, 0, 1), own_env(0, 1))
            code = await w.wait()
            await server.close()
            return code

        assert asyncio.run(main()) == 0
    finally:
        atexit.unregister(handler)
    assert not marker.exists()


def test_when_the_server_dies_its_workers_exits_count_as_failures_and_forking_stops(
        server: ForkServer, tmp_path: Path) -> None:
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(ENDLESS)
    calls: list[bool] = []

    async def main() -> int:
        lost = asyncio.Event()
        await server.open(lambda: (calls.append(True), lost.set()))
        w = WorkerProcess(0, generation(pipeline))
        await w.fork(server, worker_args(pipeline, 0), own_env(0))
        assert await w.wait_running(60)
        os.kill(server.pid, signal.SIGKILL)
        await lost.wait()  # the answers pipe closes with the server
        assert not server.usable
        with pytest.raises(OSError):
            await WorkerProcess(1, w.generation).fork(server, worker_args(pipeline, 1), own_env(1))
        # Orphaned, the worker still drains when told to; its exit is seen when its pipe closes.
        w.signal(signal.SIGTERM)
        code = await w.wait()
        await server.close()
        return code

    assert asyncio.run(main()) == UNKNOWN_EXIT
    assert calls == [True]


def test_fork_is_not_used_where_it_is_unsafe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGPIPE_WORKER_START", "spawn")
    assert fork_unavailable() == "LOGPIPE_WORKER_START=spawn"
    monkeypatch.setenv("LOGPIPE_WORKER_START", "vfork")
    with pytest.raises(ConfigError, match="fork or spawn"):
        fork_unavailable()
    monkeypatch.setenv("LOGPIPE_WORKER_START", "fork")

    async def inside_a_loop() -> str | None:
        return fork_unavailable()

    assert asyncio.run(inside_a_loop()) == "an event loop is running"
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        assert "threads are running" in (fork_unavailable() or "")
    finally:
        release.set()
        other.join()
    monkeypatch.setattr(sys, "platform", "darwin")
    assert "darwin" in (fork_unavailable() or "")


def test_answers_are_json_lines() -> None:
    """The protocol's framing: one JSON document a line, several in one read."""
    from logpipe.runtime.forkserver import ForkedProcess, _Answers

    class Recorder:
        def __init__(self) -> None:
            self.docs: list[dict] = []

        def _answer(self, doc: dict) -> None:
            self.docs.append(doc)

    rec = Recorder()
    proto = _Answers(rec)  # type: ignore[arg-type]
    proto.data_received(orjson.dumps({"id": 1, "pid": 10}) + b"\n" + b'{"pid": 10, "ex')
    proto.data_received(b'it": -9}\n')
    assert rec.docs == [{"id": 1, "pid": 10}, {"pid": 10, "exit": -9}]
    assert ForkedProcess(10).returncode is None
