"""Engine behaviour: backpressure, acknowledgement, drain on shutdown."""
from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from logpipe.config import load_text
from logpipe.core.pipeline import Pipeline

from .conftest import CountingInput, GatedOutput, RecordingOutput, until


def pipeline(yaml_text: str) -> Pipeline:
    return Pipeline(load_text(yaml_text, source="test.yaml"))


def test_slow_output_pauses_fast_input_and_queue_stays_bounded() -> None:
    async def scenario() -> None:
        p = pipeline("""
settings: {queue_max_events: 1000, batch_size: 100, pipeline_workers: 2, batch_delay_ms: 0}
inputs: [{type: counting, batches: 100, batch: 100}]
outputs: [{type: gated}]
""")
        stop = asyncio.Event()
        run = asyncio.create_task(p.run(stop))
        await until(lambda: CountingInput.instances and CountingInput.instances[0].waiting
                    and p.queue.events + 100 > p.queue.max_events)
        source = CountingInput.instances[0]
        out = GatedOutput.instances[0]
        held = source.submitted
        # Both workers are stuck in the output; the queue holds at most its bound; the input waits.
        assert out.in_send == 2
        assert p.queue.events <= 1000
        assert held <= 1000 + 2 * 100
        for _ in range(50):
            await asyncio.sleep(0)
        assert source.submitted == held, "input kept going while the pipeline was full"
        out.gate.set()
        assert await run
        assert p.queue.high_water_events <= 1000
        assert sorted(out.received) == list(range(10_000))

    asyncio.run(scenario())


def test_no_ack_before_every_output_took_the_batch() -> None:
    async def scenario() -> None:
        p = pipeline("""
settings: {batch_size: 50, pipeline_workers: 1, batch_delay_ms: 0}
inputs: [{type: counting, batches: 3, batch: 50}]
outputs: [{type: recording}, {type: gated}]
""")
        run = asyncio.create_task(p.run())
        source_ready = lambda: CountingInput.instances and CountingInput.instances[0].batches  # noqa: E731
        await until(lambda: source_ready() and RecordingOutput.instances[0].received)
        source = CountingInput.instances[0]
        first = source.batches[0]
        # One output has the events, the other does not yet: nothing is acknowledged.
        assert RecordingOutput.instances[0].received[:50] == list(range(50))
        assert not first.done
        assert source.done_order == []
        GatedOutput.instances[0].gate.set()
        assert await run
        assert source.done_order == [0, 1, 2]  # settled in arrival order
        assert all(b.delivered for b in source.batches)

    asyncio.run(scenario())


def test_failing_output_fails_batches_instead_of_acking() -> None:
    async def scenario() -> None:
        p = pipeline("""
settings: {batch_size: 10, pipeline_workers: 1}
inputs: [{type: counting, batches: 2, batch: 10}]
outputs: [{type: gated, fail: true}]
""")
        run = asyncio.create_task(p.run())
        await until(lambda: GatedOutput.instances and GatedOutput.instances[0].in_send)
        GatedOutput.instances[0].gate.set()
        ok = await run
        assert ok is False  # a finite pipeline that lost events says so
        source = CountingInput.instances[0]
        assert [b.delivered for b in source.batches] == [False, False]
        assert all("output refused the batch" in (b.reason or "") for b in source.batches)
        assert p.stats.events_failed == 20

    asyncio.run(scenario())


def test_stop_drains_everything_accepted() -> None:
    async def scenario() -> None:
        p = pipeline("""
settings: {batch_size: 64, pipeline_workers: 3}
inputs: [{type: counting, endless: true, batch: 64}]
outputs: [{type: recording}]
""")
        stop = asyncio.Event()
        run = asyncio.create_task(p.run(stop))
        await until(lambda: RecordingOutput.instances and len(RecordingOutput.instances[0].received) > 5000)
        stop.set()
        assert await run
        source = CountingInput.instances[0]
        received = RecordingOutput.instances[0].received
        assert len(received) == source.submitted == len(set(received))
        assert p.unacknowledged == 0
        assert all(b.delivered for b in source.batches)

    asyncio.run(scenario())


def test_shutdown_timeout_reports_unacknowledged() -> None:
    async def scenario() -> None:
        p = pipeline("""
settings: {batch_size: 10, pipeline_workers: 1, shutdown_timeout: 0.3}
inputs: [{type: counting, batches: 1, batch: 10}]
outputs: [{type: gated}]
""")
        ok = await p.run()
        assert ok is False
        # The held batch was failed on cancellation, so the input is told (no silent loss).
        assert CountingInput.instances[0].batches[0].delivered is False

    asyncio.run(scenario())


def test_filters_drop_and_conditions_apply() -> None:
    async def scenario() -> None:
        p = pipeline("""
inputs: [{type: counting, batches: 2, batch: 10}]
filters: [{type: drop, if: '[n] >= 15'}]
outputs: [{type: recording}]
""")
        assert await p.run()
        assert sorted(RecordingOutput.instances[0].received) == list(range(15))
        # Dropped events are acknowledged too: the input is not left waiting.
        assert all(b.delivered for b in CountingInput.instances[0].batches)

    asyncio.run(scenario())


def test_sigterm_drains_and_exits_zero(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    conf = tmp_path / "p.yaml"
    conf.write_text(f"""
settings: {{batch_size: 200}}
inputs: [{{type: generator, count: 0, batch: 200}}]
outputs: [{{type: file, path: "{out}"}}]
""")
    proc = subprocess.Popen([sys.executable, "-m", "logpipe", "run", "--pipeline", str(conf),
                             "--log-format", "json"], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not (out.exists() and out.stat().st_size > 100_000):
            assert proc.poll() is None, "logpipe exited early"
            assert time.monotonic() < deadline, "no output written"
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    m = re.search(r"(\d+) events acknowledged, 0 failed, 0 unacknowledged", err)
    assert m, err
    lines = out.read_text().splitlines()
    assert len(lines) == int(m.group(1)) > 0
    seqs = [int(re.search(r'"sequence":(\d+)', ln).group(1)) for ln in lines]  # type: ignore[union-attr]
    assert sorted(seqs) == list(range(len(seqs)))
