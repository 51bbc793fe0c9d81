"""Spill files belong to one pipeline and one destination, and drain only there.

Before: the spill file was ``data/dlq-spill/<output id>.jsonl`` relative to the
working directory, so records spilled by one pipeline (topic A) were drained
into another pipeline's topic B started later in the same directory.
"""
from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from logpipe.dlq.config import DeadLetterQueueConfig
from logpipe.dlq.writer import DeadLetterWriter
from tests.unit.dlq.test_writer import FakeKafka, _record


def _writer(kafka: FakeKafka, *, pipeline: str, topic: str, data_dir: str = "data") -> DeadLetterWriter:
    cfg = DeadLetterQueueConfig(bootstrap_servers="k:9092", topic=topic, send_timeout=1,
                                drain_interval=0.01)
    return DeadLetterWriter(cfg, owner_id="elasticsearch", pipeline=pipeline, data_dir=data_dir,
                            producer_factory=kafka.producer)


def test_records_spilled_for_topic_a_are_never_drained_into_another_pipelines_topic_b(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # both pipelines run from the same directory, default data dir
    kafka = FakeKafka()

    async def main() -> None:
        kafka.up = False
        a = _writer(kafka, pipeline="alpha", topic="topic-a")
        await a.start()
        await a.write([_record(1), _record(2)])
        await a.stop()
        assert a.counters.spilled == 2

        kafka.up = True
        b = _writer(kafka, pipeline="beta", topic="topic-b")
        await b.start()
        await b.write([_record(3)])
        await b.stop()  # stop drains whatever its spill file holds

        again = _writer(kafka, pipeline="alpha", topic="topic-a")
        await again.start()
        await again.stop()

    asyncio.run(main())
    by_topic: dict[str, list[bytes | None]] = {}
    for topic, key, _, _ in kafka.records:
        by_topic.setdefault(topic, []).append(key)
    assert by_topic == {"topic-b": [b"id-3"], "topic-a": [b"id-1", b"id-2"]}
    assert Path("data/dlq-spill/alpha").is_dir()


def test_a_spill_file_records_its_destination_and_is_not_drained_elsewhere(tmp_path: Path) -> None:
    """The same pipeline name pointed at another topic leaves the old records alone (and
    refuses to mix new ones into their file) instead of sending them to the wrong topic."""
    kafka = FakeKafka()

    async def main() -> None:
        kafka.up = False
        a = _writer(kafka, pipeline="gm", topic="topic-a", data_dir=str(tmp_path))
        await a.start()
        await a.write([_record(1)])
        await a.stop()
        kafka.up = True
        moved = _writer(kafka, pipeline="gm", topic="topic-b", data_dir=str(tmp_path))
        await moved.start()
        assert moved.spill.pending() is False
        assert await moved.drain() == 0
        await moved.stop()

    asyncio.run(main())
    assert kafka.records == []
    spill = tmp_path / "dlq-spill" / "gm" / "elasticsearch.jsonl"
    assert spill.exists()
    assert (spill.parent / "elasticsearch.jsonl.destination").read_text() == "kafka topic topic-a"
    assert os.path.getsize(spill) > 0
