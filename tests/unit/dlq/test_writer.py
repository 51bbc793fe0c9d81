"""The dead-letter writer: Kafka when it answers, the spill file when not, drained later."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson

from logpipe.dlq.config import DeadLetterQueueConfig
from logpipe.dlq.record import build_record
from logpipe.dlq.record import DeadLetterRecord, fit
from logpipe.dlq.writer import DeadLetterWriter


class FakeKafka:
    """Stands in for the brokers: ``up`` decides whether producers can start and send."""

    def __init__(self) -> None:
        self.up = True
        self.records: list[tuple[str, bytes | None, bytes, list]] = []

    def producer(self, config: DeadLetterQueueConfig) -> Any:
        return FakeProducer(self)


class FakeProducer:
    def __init__(self, kafka: FakeKafka) -> None:
        self.kafka = kafka

    async def start(self) -> None:
        if not self.kafka.up:
            raise ConnectionError("no brokers")

    async def stop(self) -> None:
        pass

    async def send(self, topic: str, value: bytes, key: bytes | None = None, headers: Any = None) -> Any:
        fut = asyncio.get_running_loop().create_future()
        if self.kafka.up:
            self.kafka.records.append((topic, key, value, headers))
            fut.set_result(None)
        else:
            fut.set_exception(ConnectionError("broker gone"))
        return fut


def _record(n: int) -> DeadLetterRecord:
    return build_record(event=orjson.dumps({"n": n}), error_type="document_parsing_exception",
                        reason="failed to parse", status=400, index="logs-x", document_id=f"id-{n}",
                        pipeline="main", plugin_id="es")


def _writer(tmp_path: Path, kafka: FakeKafka) -> DeadLetterWriter:
    cfg = DeadLetterQueueConfig(bootstrap_servers="k:9092", topic="dlq", send_timeout=1,
                                drain_interval=0.01, spill_path=str(tmp_path / "spill.jsonl"))
    return DeadLetterWriter(cfg, owner_id="es", producer_factory=kafka.producer)


def test_record_carries_event_reason_and_routing() -> None:
    record = _record(7)
    data = record.data()
    assert data["event"] == {"n": 7}
    assert data["error"] == {"type": "document_parsing_exception", "reason": "failed to parse",
                             "status": 400}
    assert (data["index"], data["plugin_id"], data["pipeline"], data["attempts"]) == ("logs-x", "es", "main", 1)
    assert data["time"].endswith("Z")
    assert record.key == b"id-7"
    assert dict(record.headers)["reason_type"] == b"document_parsing_exception"
    assert DeadLetterRecord.from_value(record.value) == record


def test_oversize_records_are_cut_to_fit() -> None:
    big = build_record(event={"message": "x" * 5000}, error_type="t", reason="r", status=400,
                       index="i", document_id="d", pipeline="p", plugin_id="o")
    small = fit(big, 1000)
    assert len(small.value) <= 1000
    data = small.data()
    assert data["event"] is None
    assert data["event_truncated"]["original_bytes"] > 5000
    assert data["error"]["type"] == "t" and small.key == b"d"


def test_records_go_to_kafka_when_it_is_up(tmp_path: Path) -> None:
    kafka = FakeKafka()

    async def main() -> None:
        writer = _writer(tmp_path, kafka)
        await writer.start()
        await writer.write([_record(1), _record(2)])
        await writer.stop()

    asyncio.run(main())
    assert [(t, k) for t, k, _, _ in kafka.records] == [("dlq", b"id-1"), ("dlq", b"id-2")]
    assert not (tmp_path / "spill.jsonl").exists()


def test_records_spill_while_kafka_is_down_and_drain_when_it_returns(tmp_path: Path) -> None:
    kafka = FakeKafka()
    kafka.up = False

    async def main() -> None:
        writer = _writer(tmp_path, kafka)
        await writer.start()
        await writer.write([_record(1)])
        await writer.write([_record(2), _record(3)])
        spilled = (tmp_path / "spill.jsonl").read_bytes().splitlines()
        assert [orjson.loads(x)["event"]["n"] for x in spilled] == [1, 2, 3]
        assert kafka.records == []
        kafka.up = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        while len(kafka.records) < 3 and loop.time() < deadline:
            await asyncio.sleep(0.01)
        await writer.stop()

    asyncio.run(main())
    assert [orjson.loads(v)["event"]["n"] for _, _, v, _ in kafka.records] == [1, 2, 3]
    assert not (tmp_path / "spill.jsonl").exists()
    assert not (tmp_path / "spill.jsonl.draining").exists()


def test_a_send_failure_after_start_spills_instead_of_losing(tmp_path: Path) -> None:
    kafka = FakeKafka()

    async def main() -> None:
        writer = _writer(tmp_path, kafka)
        await writer.start()
        kafka.up = False
        await writer.write([_record(5)])
        assert writer.counters.spilled == 1
        # stop while Kafka is down: the file stays for the next run
        await writer.stop()

    asyncio.run(main())
    # the failed drain at stop may have moved it aside for draining; either way it is kept
    kept = [p for p in (tmp_path / "spill.jsonl", tmp_path / "spill.jsonl.draining") if p.exists()]
    lines = b"".join(p.read_bytes() for p in kept).splitlines()
    assert [orjson.loads(x)["document_id"] for x in lines] == ["id-5"]


def test_spill_left_by_a_previous_run_is_drained_on_start(tmp_path: Path) -> None:
    kafka = FakeKafka()
    spill = tmp_path / "spill.jsonl"
    spill.write_bytes(_record(1).value + b"\n" + _record(2).value + b"\n")

    async def main() -> None:
        writer = _writer(tmp_path, kafka)
        await writer.start()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        while len(kafka.records) < 2 and loop.time() < deadline:
            await asyncio.sleep(0.01)
        await writer.stop()

    asyncio.run(main())
    assert [k for _, k, _, _ in kafka.records] == [b"id-1", b"id-2"]
    assert [dict(h)["reason_type"] for _, _, _, h in kafka.records] == [b"document_parsing_exception"] * 2
    assert not spill.exists()


def test_an_interrupted_drain_resumes_after_the_confirmed_lines(tmp_path: Path) -> None:
    kafka = FakeKafka()
    draining = tmp_path / "spill.jsonl.draining"
    draining.write_bytes(b"".join(_record(n).value + b"\n" for n in range(4)))
    (tmp_path / "spill.jsonl.draining.done").write_text("2")

    async def main() -> None:
        writer = _writer(tmp_path, kafka)
        await writer.start()
        await writer.stop()

    asyncio.run(main())
    assert [k for _, k, _, _ in kafka.records] == [b"id-2", b"id-3"]
    assert not draining.exists()


def test_after_a_failure_writes_spill_at_once_until_a_drain_succeeds(tmp_path: Path) -> None:
    kafka = FakeKafka()
    sends: list[int] = []

    class CountingProducer(FakeProducer):
        async def send(self, topic: str, value: bytes, key: bytes | None = None, headers: Any = None) -> Any:
            sends.append(1)
            return await super().send(topic, value, key, headers)

    async def main() -> None:
        cfg = DeadLetterQueueConfig(bootstrap_servers="k:9092", topic="dlq", send_timeout=1,
                                    drain_interval=0.01, spill_path=str(tmp_path / "spill.jsonl"))
        writer = DeadLetterWriter(cfg, owner_id="es", producer_factory=lambda c: CountingProducer(kafka))
        await writer._connect()  # no drain loop yet: the test drives draining itself
        kafka.up = False
        await writer.write([_record(1)])
        tried = len(sends)
        await writer.write([_record(2)])
        assert len(sends) == tried  # straight to the file
        kafka.up = True
        assert await writer.drain() == 2
        await writer.write([_record(3)])
        assert writer.counters.sent == 1 and writer.counters.spilled == 2
        await writer.stop()

    asyncio.run(main())
    assert [k for _, k, _, _ in kafka.records] == [b"id-1", b"id-2", b"id-3"]


def test_each_worker_process_spills_to_its_own_file() -> None:
    from logpipe.dlq.writer import spill_path_for

    cfg = DeadLetterQueueConfig(bootstrap_servers="k:9092")
    assert spill_path_for(cfg, "es-app") == "data/dlq-spill/main/es-app.jsonl"
    assert spill_path_for(cfg, "es-app", 2) == "data/dlq-spill/main/es-app-w2.jsonl"
    assert (spill_path_for(cfg, "es-app", pipeline="gm", data_dir="/var/lib/logpipe")
            == "/var/lib/logpipe/dlq-spill/gm/es-app.jsonl")
    custom = cfg.model_copy(update={"spill_path": "/var/lib/logpipe/dlq"})
    assert spill_path_for(custom, "x", 0) == "/var/lib/logpipe/dlq-w0"
