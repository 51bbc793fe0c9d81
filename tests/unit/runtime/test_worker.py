"""A worker run in-process: its stats feed and the output readiness convention."""
from __future__ import annotations

import asyncio
import os
from pathlib import Path

import orjson
import pytest

from logpipe.config.loader import load_text
from logpipe.core import registry
from logpipe.core.plugin import Output, PluginConfig
from logpipe.runtime.worker import Worker, outputs_ready

PIPELINE = """
inputs:
  - {type: generator, id: gen, count: 250, batch: 100}
outputs:
  - {type: file, id: out, path: "%s"}
"""


def read_feed(fd: int) -> list[dict]:
    chunks = []
    while True:
        data = os.read(fd, 65536)
        if not data:
            break
        chunks.append(data)
    os.close(fd)
    return [orjson.loads(line) for line in b"".join(chunks).splitlines() if line]


@pytest.mark.usefixtures("restore_signals")
def test_worker_reports_running_and_final_counts(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    spec = load_text(PIPELINE % out, name="unit")
    read_fd, write_fd = os.pipe()
    worker = Worker(spec, index=1, count=2, generation=7, stats_fd=write_fd, interval=0.05)
    assert asyncio.run(worker.run()) == 0
    docs = read_feed(read_fd)
    states = [d["state"] for d in docs]
    assert "running" in states
    assert states[-1] == "stopped"
    final = docs[-1]
    assert (final["index"], final["generation"], final["pid"]) == (1, 7, os.getpid())
    assert final["events_acked"] == 250
    plugins = {p["id"]: p for p in final["plugins"]}
    assert plugins["gen"] == {"kind": "input", "type": "generator", "id": "gen", "events_in": 0,
                              "events_out": 250, "failures": 0, "seconds": 0.0}
    assert plugins["out"]["events_out"] == 250
    assert len(out.read_text().splitlines()) == 250


class _RefusingOutput(Output):
    Config = PluginConfig

    async def start(self) -> None:
        raise RuntimeError("cannot reach the server")

    async def send(self, events: list) -> None:  # pragma: no cover - never started
        raise AssertionError


@pytest.mark.usefixtures("restore_signals")
def test_worker_that_cannot_start_reports_failed() -> None:
    registry.register("output", "refusing", _RefusingOutput)
    spec = load_text("inputs: [{type: generator, count: 5}]\noutputs: [{type: refusing}]", name="unit")
    read_fd, write_fd = os.pipe()
    worker = Worker(spec, stats_fd=write_fd, interval=0.05)
    assert asyncio.run(worker.run()) == 1
    docs = read_feed(read_fd)
    assert docs[-1]["state"] == "failed"
    assert all(d["state"] != "running" for d in docs)


class _Out:
    def __init__(self, answer: object) -> None:
        self.answer = answer

    async def ready(self) -> bool:
        if isinstance(self.answer, Exception):
            raise self.answer
        if self.answer == "hang":
            await asyncio.sleep(10)
        return self.answer  # type: ignore[return-value]


class _Plain:
    pass


@pytest.mark.parametrize("outputs, expected", [
    ([], True),
    ([_Plain()], True),
    ([_Plain(), _Out(True)], True),
    ([_Out(True), _Out(False)], False),
    ([_Out(RuntimeError("down"))], False),
    ([_Out("hang")], False),
])
def test_outputs_ready(outputs: list[object], expected: bool) -> None:
    assert asyncio.run(outputs_ready(outputs, timeout=0.2)) is expected


class _CountingOutput(Output):
    """Publishes a series of its own, as plugins do, through context.metrics."""

    Config = PluginConfig

    async def start(self) -> None:
        self._sent = self.context.metrics.counter("unit_sent_total", {"id": self.id})

    async def send(self, events: list) -> None:
        self._sent.inc(len(events))


@pytest.mark.usefixtures("restore_signals")
def test_a_worker_runs_every_pipeline_of_pipelines_yml_with_pipeline_labels(tmp_path: Path) -> None:
    """Per-plugin figures and plugins' own series carry the pipeline they belong to, so two
    pipelines' plugins with the same id stay apart on /stats and /metrics."""
    from prometheus_client import CollectorRegistry, generate_latest

    from logpipe.config import pipelines_yml
    from logpipe.runtime.metrics import ClusterCollector, ClusterTotals

    registry.register("output", "unit_counting", _CountingOutput)
    (tmp_path / "pipelines.yml").write_text("""
- pipeline.id: intake
  config.string: |
    input { generator { id => "gen" count => 30 lines => ["a", "b", "c"] } }
    output { pipeline { id => "hop" send_to => ["rest"] } unit_counting { id => "out" } }
- pipeline.id: rest
  config.string: |
    input { pipeline { id => "gen" address => "rest" } }
    output { unit_counting { id => "out" } }
""")
    spec = pipelines_yml.load(tmp_path / "pipelines.yml")
    read_fd, write_fd = os.pipe()
    worker = Worker(spec, index=0, count=1, stats_fd=write_fd, interval=0.05)
    assert asyncio.run(worker.run()) == 0
    final = read_feed(read_fd)[-1]
    assert final["events_acked"] == 60
    figures = {(p["pipeline"], p["id"]): p["events_out"] for p in final["plugins"]}
    assert figures == {("intake", "gen"): 30, ("intake", "hop"): 30, ("intake", "out"): 30,
                       ("rest", "gen"): 30, ("rest", "out"): 30}

    status = {"pipeline": spec.name, "totals": ClusterTotals().combine([final]), "workers": []}
    exposition = CollectorRegistry(auto_describe=False)
    exposition.register(ClusterCollector(lambda: status))
    text = generate_latest(exposition).decode()
    assert 'logpipe_events_out_total{id="gen",kind="input",pipeline="rest",type="pipeline"} 30.0' in text
    assert 'logpipe_events_out_total{id="gen",kind="input",pipeline="intake",type="generator"} 30.0' in text
    assert 'logpipe_unit_sent_total{id="out",pipeline="intake"} 30.0' in text
    assert 'logpipe_unit_sent_total{id="out",pipeline="rest"} 30.0' in text
    # The pipeline-wide series are per pipeline too; events_in counts each pipeline's inputs.
    assert 'logpipe_events_acked_total{pipeline="intake"} 30.0' in text
    assert 'logpipe_events_acked_total{pipeline="rest"} 30.0' in text
    assert 'logpipe_pipeline_events_in_total{pipeline="rest"} 30.0' in text
    assert 'logpipe_queue_events{pipeline="rest"} 0.0' in text
    # ... and the total taken in from outside counts the generator only, not the hop.
    assert status["totals"]["events_in"] == 30


@pytest.mark.usefixtures("restore_signals")
def test_a_worker_publishes_as_soon_as_an_input_takes_its_first_events() -> None:
    """With an hour between regular reports, the only way events sent after the worker
    reported itself running and ready reach the supervisor is the report sent when an
    input takes its first events."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    spec = load_text(f"inputs:\n  - {{type: tcp, id: tcp_in, host: 127.0.0.1, port: {port}}}\n"
                     "outputs:\n  - {type: blackhole}\n", name="unit")
    read_fd, write_fd = os.pipe()
    worker = Worker(spec, stats_fd=write_fd, interval=3600)

    async def main() -> tuple[list[dict], int]:
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()
        taken: asyncio.Future[None] = loop.create_future()
        docs: list[dict] = []

        class Reader(asyncio.Protocol):
            buffer = b""

            def data_received(self, data: bytes) -> None:
                self.buffer += data
                *lines, self.buffer = self.buffer.split(b"\n")
                for line in lines:
                    doc = orjson.loads(line)
                    docs.append(doc)
                    if doc["state"] == "running" and doc["ready"] and not ready.done():
                        ready.set_result(None)
                    if doc["state"] == "running" and intake(doc) and not taken.done():
                        taken.set_result(None)

        transport, _ = await loop.connect_read_pipe(Reader, os.fdopen(read_fd, "rb", buffering=0))
        running = asyncio.ensure_future(worker.run())
        await asyncio.wait_for(ready, 60)  # bounds for a broken build, not timings
        reported = len(docs)
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"one\ntwo\n")
        await writer.drain()
        await asyncio.wait_for(taken, 60)
        writer.close()
        worker._stop.set()
        code = await running
        transport.close()
        return docs[reported:], code

    def intake(doc: dict) -> int:
        return int({p["id"]: p["events_out"] for p in doc["plugins"]}.get("tcp_in", 0))

    after, code = asyncio.run(main())
    assert code == 0
    first = next(d for d in after if intake(d))
    assert first["state"] == "running" and intake(first) in (1, 2)


class _ProbedOutput(Output):
    """Its second readiness probe hangs (a slow cluster); stop() notes a probe still running."""

    Config = PluginConfig
    probes = 0
    probing = False
    second_probe: asyncio.Event
    probing_at_stop: bool | None = None

    async def ready(self) -> bool:
        cls = type(self)
        cls.probes += 1
        if cls.probes == 1:
            return True
        cls.probing = True
        try:
            cls.second_probe.set()
            await asyncio.Event().wait()
            return True
        finally:
            cls.probing = False

    async def send(self, events: list) -> None:
        return None

    async def stop(self) -> None:
        type(self).probing_at_stop = type(self).probing


@pytest.mark.usefixtures("restore_signals")
def test_readiness_probes_end_before_the_drain_stops_the_outputs() -> None:
    registry.register("output", "unit_probed", _ProbedOutput)
    spec = load_text("inputs: [{type: generator, count: 0, rate: 1, batch: 1}]\n"
                     "outputs: [{type: unit_probed}]", name="unit")
    read_fd, write_fd = os.pipe()
    worker = Worker(spec, stats_fd=write_fd, interval=0.05)

    async def main() -> int:
        _ProbedOutput.second_probe = asyncio.Event()
        running = asyncio.ensure_future(worker.run())
        await asyncio.wait_for(_ProbedOutput.second_probe.wait(), 60)  # a bound, not a timing
        worker._stop.set()
        return await running

    assert asyncio.run(main()) == 0
    os.close(read_fd)
    assert _ProbedOutput.probing_at_stop is False
