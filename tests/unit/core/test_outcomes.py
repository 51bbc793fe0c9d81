"""Per-event delivery outcomes and the engine's dead-letter queue, through real pipelines.

Outputs report delivered / retry / rejected per event; the engine dead-letters
what any output rejected (with the event, plugin id, pipeline, reason and time),
acknowledges the batch once every event is delivered or dead-lettered, and
holds it (backpressure) while the dead-letter queue cannot take records.
"""
from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from logpipe.config import load_text
from logpipe.core import registry
from logpipe.core.event import Event
from logpipe.core.outcome import Delivery
from logpipe.core.pipeline import Pipeline
from logpipe.core.plugin import Output, PluginConfig
from logpipe.dlq.directory import read_records
from logpipe.errors import DeliveryError

from .conftest import CountingInput, until

POISON = "43947404257507186289"  # beyond 64 bits: orjson refuses a Python int this large


class RejectConfig(PluginConfig):
    #: ``odd``: reject odd n; ``raise_permanent`` / ``raise_transient``: raise DeliveryError.
    mode: str = "odd"


class RejectingOutput(Output):
    Config = RejectConfig
    received: list[int] = []

    async def send(self, events: list[Event]) -> Delivery | None:
        mode = self.config.mode  # type: ignore[attr-defined]
        if mode == "raise_permanent":
            raise DeliveryError("index is closed", retriable=False)
        if mode == "raise_transient":
            raise DeliveryError("cluster unreachable", retriable=True)
        delivery = Delivery()
        for i, e in enumerate(events):
            if e.data["n"] % 2:
                delivery.reject(i, f"mapper_parsing_exception: n={e.data['n']} is odd")
            else:
                RejectingOutput.received.append(e.data["n"])
        return delivery


@pytest.fixture(autouse=True)
def _plugins() -> None:
    registry.register("output", "rejecting", RejectingOutput)
    RejectingOutput.received = []


def dlq_records(root: Path) -> list[dict[str, Any]]:
    return [record for _, _, record in read_records(root)]


def settings(tmp_path: Path, extra: str = "") -> str:
    return (f'settings: {{batch_size: 10, pipeline_workers: 1, batch_delay_ms: 0, '
            f'"path.data": "{tmp_path}"{", " + extra if extra else ""}}}')


def test_rejected_events_go_to_the_dead_letter_directory_and_the_batch_is_acknowledged(
        tmp_path: Path) -> None:
    async def scenario() -> Pipeline:
        p = Pipeline(load_text(f"""
{settings(tmp_path)}
inputs: [{{type: counting, batches: 2, batch: 10}}]
outputs: [{{type: rejecting, id: picky}}]
""", source="gm.yaml", name="gm"))
        assert await p.run()
        return p

    p = asyncio.run(scenario())
    source = CountingInput.instances[0]
    assert all(b.delivered for b in source.batches)
    assert [b.dead_lettered for b in source.batches] == [5, 5]
    assert sorted(RejectingOutput.received) == list(range(0, 20, 2))
    records = dlq_records(tmp_path / "dead_letter_queue" / "gm")
    assert sorted(r["event"]["n"] for r in records) == list(range(1, 20, 2))
    first = records[0]
    assert first["plugin_id"] == "picky" and first["plugin_type"] == "rejecting"
    assert first["pipeline"] == "gm"
    assert first["error"]["type"] == "mapper_parsing_exception"
    assert "is odd" in first["error"]["reason"]
    assert first["time"]
    assert p.stats.events_dead_lettered == 10
    assert p.stats.events_failed == 0


def test_a_poison_event_is_isolated_and_the_events_beside_it_are_written(tmp_path: Path) -> None:
    """A python filter turns a 20-digit number into an int; no codec can write it. The two good
    events beside it are written, it goes to the dead-letter queue, and the batch is
    acknowledged (before: the whole batch failed and nothing was written)."""
    out = tmp_path / "out.jsonl"
    lines = ["id=1 bytes=100", f"id=2 bytes={POISON}", "id=3 bytes=300"]

    async def scenario() -> bool:
        p = Pipeline(load_text(f"""
{settings(tmp_path)}
inputs: [{{type: generator, count: 3, batch: 3, lines: {json.dumps(lines)}}}]
filters:
  - {{type: dissect, mapping: {{message: "id=%{{id}} bytes=%{{bytes}}"}}}}
  - {{type: python, code: "event.set('bytes', int(event.get('bytes')))"}}
outputs: [{{type: file, id: archive, path: "{out}"}}]
""", source="poison.yaml", name="poison"))
        return await p.run()

    assert asyncio.run(scenario())
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert [d["id"] for d in written] == ["1", "3"]
    [record] = dlq_records(tmp_path / "dead_letter_queue" / "poison")
    assert record["error"]["type"] == "serialization_error"
    assert record["plugin_id"] == "archive"
    assert record["event"]["bytes"] == POISON  # kept, as text, rather than lost


def test_delivery_error_retriable_flag_is_read(tmp_path: Path) -> None:
    async def scenario(mode: str) -> list[Any]:
        CountingInput.instances.clear()
        p = Pipeline(load_text(f"""
{settings(tmp_path)}
inputs: [{{type: counting, batches: 1, batch: 4}}]
outputs: [{{type: rejecting, id: o-{mode}, mode: {mode}}}]
""", source="flag.yaml", name=f"flag-{mode}"))
        await p.run()
        return CountingInput.instances[0].batches

    [permanent] = asyncio.run(scenario("raise_permanent"))
    assert permanent.delivered is True and permanent.dead_lettered == 4
    records = dlq_records(tmp_path / "dead_letter_queue" / "flag-raise_permanent")
    assert len(records) == 4 and "index is closed" in records[0]["error"]["reason"]

    [transient] = asyncio.run(scenario("raise_transient"))
    assert transient.delivered is False and transient.retriable is True
    assert "cluster unreachable" in (transient.reason or "")
    assert not (tmp_path / "dead_letter_queue" / "flag-raise_transient").exists()


def test_without_a_dead_letter_queue_rejections_fail_the_batch_for_good(tmp_path: Path) -> None:
    async def scenario() -> list[Any]:
        p = Pipeline(load_text(f"""
{settings(tmp_path, "dead_letter_queue: {type: none}")}
inputs: [{{type: counting, batches: 1, batch: 4}}]
outputs: [{{type: rejecting, id: picky}}]
""", source="none.yaml"))
        await p.run()
        return CountingInput.instances[0].batches

    [batch] = asyncio.run(scenario())
    assert batch.delivered is False and batch.retriable is False
    assert len(batch.rejected) == 2 and "picky: mapper_parsing_exception" in batch.rejected[0]


def test_a_full_dead_letter_queue_holds_the_batch_and_turns_readiness_off(tmp_path: Path) -> None:
    """Never silent loss: while the directory is full the batch waits (and /readyz says why);
    once room is made the events are written and the batch acknowledged."""
    root = tmp_path / "dead_letter_queue" / "full"
    root.mkdir(parents=True)
    filler = root / "0000000001.log"
    filler.write_bytes(b"x" * 2000)

    async def scenario() -> None:
        p = Pipeline(load_text(f"""
{settings(tmp_path, "dead_letter_queue: {max_bytes: 2048, max_segment_bytes: 1024}")}
inputs: [{{type: counting, batches: 1, batch: 4, endless: false}}]
outputs: [{{type: rejecting, id: picky}}]
""", source="full.yaml", name="full"))
        stop = asyncio.Event()
        run = asyncio.create_task(p.run(stop))
        await until(lambda: CountingInput.instances and CountingInput.instances[0].batches
                    and p.dead_letter_queue.ready()[0] is False)
        batch = CountingInput.instances[0].batches[0]
        ready, reason = await p.ready()
        assert not ready and "full" in reason
        assert not batch.done
        filler.unlink()  # an operator makes room
        await until(lambda: batch.done, timeout=10)
        assert batch.delivered and batch.dead_lettered == 2
        assert (await p.ready())[0]
        stop.set()
        assert await run

    asyncio.run(scenario())
    assert len(dlq_records(root)) == 2
