"""Pipeline-to-pipeline in one process, one test per pattern of Logstash's documentation
(distributor, output isolator, forked path, collector), and the acknowledgement across
the hop: an upstream batch settles only once the downstream pipeline settled its events.

Pipelines come from a pipelines.yml with Logstash's keys and ``config.string``
pipelines in Logstash's language, as a migrating user writes them.
"""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

from logpipe.config.pipelines_yml import load
from logpipe.core import registry
from logpipe.dlq.directory import read_records
from logpipe.runtime.group import PipelineGroup
from tests.unit.core.conftest import CountingInput, GatedOutput, RecordingOutput, until


@pytest.fixture(autouse=True)
def _plugins() -> None:
    registry.register("input", "counting", CountingInput)
    registry.register("output", "gated", GatedOutput)
    registry.register("output", "recording", RecordingOutput)
    CountingInput.instances.clear()
    GatedOutput.instances.clear()
    RecordingOutput.instances.clear()


def pipelines(tmp_path: Path, body: str) -> Path:
    """A pipelines.yml; every pipeline small and quick, its dead letters under tmp_path."""
    path = tmp_path / "pipelines.yml"
    path.write_text(body.replace("@DLQ@", str(tmp_path / "dlq")), encoding="utf-8")
    return path


def entry(pid: str, conf: str, workers: int = 1, size: int = 10) -> str:
    indented = "\n".join("    " + line for line in conf.strip().splitlines())
    return (f"- pipeline.id: {pid}\n  pipeline.workers: {workers}\n  pipeline.batch.size: {size}\n"
            f"  pipeline.batch.delay: 0\n  path.dead_letter_queue: \"@DLQ@\"\n"
            f"  config.string: |\n{indented}\n")


def recorded(group: PipelineGroup, pid: str) -> list[int]:
    out = group.members[pid].outputs[0]
    assert isinstance(out, (RecordingOutput, GatedOutput))
    return sorted(out.received)


def all_delivered(inp: CountingInput) -> bool:
    return bool(inp.batches) and all(b.delivered for b in inp.batches)


async def run(group: PipelineGroup) -> bool:
    return await asyncio.wait_for(group.run(), 30)


def test_distributor_routes_one_input_to_pipelines_by_condition(tmp_path: Path) -> None:
    spec = load(pipelines(tmp_path, entry("intake", """
input { counting { batches => 5 batch => 10 } }
output {
  if [n] < 20 { pipeline { send_to => ["low"] } }
  else if [n] < 40 { pipeline { send_to => "middle" } }
  else { pipeline { send_to => ["high"] } }
}
""") + entry("low", 'input { pipeline { address => "low" } } output { recording {} }')
        + entry("middle", 'input { pipeline { address => "middle" } } output { recording {} }')
        + entry("high", 'input { pipeline { address => "high" } } output { recording {} }')))
    assert spec.order[0] == "intake"
    group = PipelineGroup(spec)
    assert asyncio.run(run(group))
    assert recorded(group, "low") == list(range(20))
    assert recorded(group, "middle") == list(range(20, 40))
    assert recorded(group, "high") == list(range(40, 50))
    assert all_delivered(CountingInput.instances[0])
    assert group.members["intake"].stats.events_acked == 50
    assert group.members["low"].stats.events_acked == 20


def test_output_isolator_other_branch_flows_while_one_is_stalled(tmp_path: Path) -> None:
    """intake copies every event to `es` (its output stalled) and `http`. `http` keeps
    receiving what intake has in flight (its pipeline workers' batches), but nothing is
    acknowledged upstream until `es` has its copies too; intake's bounded queue then fills and
    its input waits. Released, everything reaches both, every upstream batch is acknowledged."""
    spec = load(pipelines(tmp_path, entry("intake", """
input { counting { batches => 40 batch => 10 } }
output { pipeline { send_to => ["es", "http"] } }
""", workers=2) + entry("es", 'input { pipeline { address => "es" } } output { gated {} }')
        + entry("http", 'input { pipeline { address => "http" } } output { recording {} }')))
    # a small upstream queue, so its bound is reached: 30 events
    spec.by_id("intake").settings.queue_max_events = 30

    async def scenario() -> None:
        group = PipelineGroup(spec)
        task = asyncio.create_task(group.run())
        inp = CountingInput.instances[0] if CountingInput.instances else None
        await until(lambda: CountingInput.instances and CountingInput.instances[0].waiting
                    and len(RecordingOutput.instances[0].received) == 20)
        inp = CountingInput.instances[0]
        gated = GatedOutput.instances[0]
        http = RecordingOutput.instances[0]
        # two intake workers, a batch of 10 each, are in flight: http got both copies ...
        assert sorted(http.received) == list(range(20))
        # ... es holds them, and nothing is acknowledged upstream
        assert gated.received == []
        assert not any(b.delivered for b in inp.batches)
        assert group.members["intake"].stats.events_acked == 0
        # intake's queue is full (30) and the input waits: 20 in flight + 30 queued
        assert group.members["intake"].queue.events == 30
        assert inp.submitted == 50
        # http is not held by es: it acknowledged its own copies downstream
        assert group.members["http"].stats.events_acked == 20
        gated.gate.set()
        assert await asyncio.wait_for(task, 30)
        assert sorted(gated.received) == list(range(400))
        assert sorted(http.received) == list(range(400))
        assert all(b.delivered for b in inp.batches)

    asyncio.run(scenario())


def test_forked_path_each_pipeline_changes_its_own_copy(tmp_path: Path) -> None:
    spec = load(pipelines(tmp_path, entry("intake", """
input { counting { batches => 3 batch => 10 } }
filter { mutate { add_field => { "origin" => "intake" } } }
output { pipeline { send_to => ["full", "partner"] } }
""") + entry("full", 'input { pipeline { address => "full" } } output { recording { id => "full_out" } }')
        + entry("partner", """
input { pipeline { address => "partner" } }
filter { mutate { remove_field => ["origin"] add_field => { "shared" => "yes" } } }
output { recording { id => "partner_out" } }
""")))

    seen: dict[str, list[dict[str, Any]]] = {"full_out": [], "partner_out": []}

    class Keeping(RecordingOutput):
        async def send(self, events: list[Any]) -> None:
            seen[self.id].extend(dict(e.data) for e in events)
            await super().send(events)

    registry.register("output", "recording", Keeping)
    spec = load(spec.source)
    group = PipelineGroup(spec)
    assert asyncio.run(run(group))
    assert len(seen["full_out"]) == len(seen["partner_out"]) == 30
    assert all(d["origin"] == "intake" and "shared" not in d for d in seen["full_out"])
    assert all("origin" not in d and d["shared"] == "yes" for d in seen["partner_out"])
    assert all_delivered(CountingInput.instances[0])


def test_collector_gathers_several_pipelines_into_one(tmp_path: Path) -> None:
    spec = load(pipelines(tmp_path, entry("beats", """
input { counting { batches => 4 batch => 5 } }
filter { mutate { add_field => { "from" => "beats" } } }
output { pipeline { send_to => ["collect"] } }
""") + entry("kafka", """
input { counting { batches => 3 batch => 5 } }
filter { mutate { add_field => { "from" => "kafka" } } }
output { pipeline { send_to => ["collect"] } }
""") + entry("collect", 'input { pipeline { address => "collect" } } output { recording {} }')))
    assert spec.order[-1] == "collect"
    group = PipelineGroup(spec)
    assert asyncio.run(run(group))
    assert len(RecordingOutput.instances[0].received) == 35
    assert group.members["collect"].stats.events_acked == 35
    assert all(all_delivered(i) for i in CountingInput.instances)


def test_a_downstream_retry_leaves_the_upstream_batch_unacknowledged(tmp_path: Path) -> None:
    spec = load(pipelines(tmp_path, entry("intake", """
input { counting { batches => 1 batch => 10 } }
output { pipeline { send_to => ["down"] } }
""") + entry("down", 'input { pipeline { address => "down" } } output { gated { fail => true } }')))

    async def scenario() -> None:
        group = PipelineGroup(spec)
        task = asyncio.create_task(group.run())
        await until(lambda: bool(GatedOutput.instances))
        GatedOutput.instances[0].gate.set()
        assert not await asyncio.wait_for(task, 30)
        batch = CountingInput.instances[0].batches[0]
        assert batch.delivered is False and batch.retriable
        assert "pipeline down" in (batch.reason or "")

    asyncio.run(scenario())


def test_a_downstream_rejection_without_dead_letters_is_dead_lettered_upstream(tmp_path: Path) -> None:
    """`down` keeps no dead letters (dead_letter_queue.enable: false) and its output rejects
    the odd events for good: `down` fails its batch for good, the rejection flows back, and
    intake's engine dead-letters the events it sent. A pipeline settles a batch whole, so the
    even events `down` did deliver are dead-lettered upstream too (kept twice, never lost)."""
    from tests.unit.core.test_outcomes import RejectingOutput

    registry.register("output", "rejecting", RejectingOutput)
    RejectingOutput.received = []
    spec = load(pipelines(tmp_path, entry("intake", """
input { counting { batches => 1 batch => 10 } }
output { pipeline { send_to => ["down"] } }
""") + entry("down", 'input { pipeline { address => "down" } } output { rejecting {} }')
        + "  dead_letter_queue.enable: false\n"))
    group = PipelineGroup(spec)
    asyncio.run(run(group))
    assert group.members["down"].stats.events_failed == 10
    records = [r for _, _, r in read_records(tmp_path / "dlq" / "intake")]
    assert len(records) == 10
    assert "pipeline down" in records[0]["error"]["reason"] and "n=1 is odd" in records[0]["error"]["reason"]
    assert sorted(RejectingOutput.received) == [0, 2, 4, 6, 8]
    assert not (tmp_path / "dlq" / "down").exists() or not list(read_records(tmp_path / "dlq" / "down"))
    assert all_delivered(CountingInput.instances[0])


def test_an_address_without_listener_holds_the_send_and_says_so(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    spec = load(pipelines(tmp_path, entry("intake", """
input { counting { batches => 1 batch => 10 } }
output { pipeline { send_to => ["nowhere"] } }
""")))
    assert any("nothing listens on address 'nowhere'" in n for n in spec.notes)

    async def scenario() -> None:
        group = PipelineGroup(spec)
        await group.start()
        with caplog.at_level(logging.WARNING, logger="logpipe.bus"):
            await until(lambda: "no pipeline listens on address 'nowhere'" in caplog.text)
        assert group.members["intake"].unacknowledged == 10
        assert not CountingInput.instances[0].batches[0].done

        async def receiver(events: list[Any]) -> Any:
            from logpipe.core.outcome import Delivery
            return Delivery.all_delivered()

        group.bus.listen("nowhere", receiver)
        await until(lambda: CountingInput.instances[0].batches[0].delivered is True)
        assert await group.shutdown(5)

    asyncio.run(scenario())


@pytest.mark.usefixtures("restore_signals")
def test_single_process_sighup_reloads_every_pipeline(tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    """`logpipe run` in one process: SIGHUP with a broken pipeline is refused and the set runs
    on; with a good file every pipeline is drained and the new set runs (the finite new
    intake then ends the run)."""
    import os
    import signal

    from logpipe.runtime.group import run_group_reloadable

    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    store = 'input {{ pipeline {{ address => "store" }} }} output {{ file {{ path => "{}" }} }}'
    (tmp_path / "store.conf").write_text(store.format(first))
    path = tmp_path / "pipelines.yml"
    path.write_text("""
- pipeline.id: intake
  config.string: 'input { generator { count => 0 rate => 0.001 batch => 4 } } output { pipeline { send_to => ["store"] } }'
- pipeline.id: store
  path.config: store.conf
""")

    async def scenario() -> bool:
        task = asyncio.create_task(run_group_reloadable(str(path), load(path)))
        await until(lambda: first.exists() and len(first.read_text().splitlines()) == 4)
        (tmp_path / "store.conf").write_text("input { pipeline {")
        os.kill(os.getpid(), signal.SIGHUP)
        await until(lambda: "reload refused" in caplog.text)
        assert not task.done()
        (tmp_path / "store.conf").write_text(store.format(second))
        path.write_text(path.read_text().replace("count => 0 rate => 0.001 batch => 4",
                                                 "count => 3"))
        os.kill(os.getpid(), signal.SIGHUP)
        return await asyncio.wait_for(task, 20)

    with caplog.at_level(logging.INFO):
        assert asyncio.run(scenario()) is True
    assert len(first.read_text().splitlines()) == 4
    assert len(second.read_text().splitlines()) == 3


def test_shutdown_with_a_stalled_receiver_keeps_within_one_grace_period(tmp_path: Path) -> None:
    """SIGTERM while `down`'s output hangs: the whole group stops within the one grace
    period it was given (not one per pipeline), reports it was not clean, and the upstream
    batch stays unacknowledged, so its sender delivers it again."""
    spec = load(pipelines(tmp_path, entry("intake", """
input { counting { batches => 1 batch => 10 endless => true } }
output { pipeline { send_to => ["down"] } }
""") + entry("down", 'input { pipeline { address => "down" } } output { gated {} }')))

    async def scenario() -> None:
        group = PipelineGroup(spec)
        await group.start()
        await until(lambda: bool(GatedOutput.instances) and GatedOutput.instances[0].in_send == 1)
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert not await group.shutdown(4.0)
        # one grace period (4 s) and the receiver's last moment, not 4 s per pipeline (8 s)
        assert loop.time() - started < 6.0
        first = CountingInput.instances[0].batches[0]
        assert first.delivered is False
        assert group.members["intake"].stats.events_acked == 0

    asyncio.run(scenario())
