"""The ``kafka`` output against a real broker: send() returns only once every record is stored."""
from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from logpipe.core.event import Event
from logpipe.errors import DeliveryError
from logpipe.outputs.kafka import KafkaOutput
from tests.integration.streaming_support import create_topic, free_port, running, sync

pytestmark = pytest.mark.timeout(120)


async def read_back(bootstrap: str, topic: str, partitions: int, count: int,
                    timeout: float = 30) -> list[Any]:
    """Records of ``topic`` from the beginning (no consumer group), until ``count`` are read."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, p) for p in range(partitions)])
        await consumer.seek_to_beginning()
        records: list[Any] = []

        async def loop() -> None:
            while len(records) < count:
                for batch in (await consumer.getmany(timeout_ms=500)).values():
                    records.extend(batch)
        await asyncio.wait_for(loop(), timeout)
        return records
    finally:
        await consumer.stop()


def output(bootstrap: str, **options: Any) -> KafkaOutput:
    return KafkaOutput(KafkaOutput.Config(bootstrap_servers=bootstrap, **options), id="kafka_out")


def events(n: int) -> list[Event]:
    return [Event({"n": i, "user": f"u{i % 5}", "message": f"line {i}"}, {"secret": "not written"})
            for i in range(n)]


@sync
async def test_a_sent_batch_is_stored_with_every_record(kafka_bootstrap: str) -> None:
    topic = await create_topic(kafka_bootstrap, 3)
    out = output(kafka_bootstrap, topic_id=topic)
    await out.start()
    try:
        await out.send(events(5000))
    finally:
        await out.stop()
    # Produced with acks=all before send() returned: all of it is readable now.
    records = await read_back(kafka_bootstrap, topic, 3, 5000)
    docs = [orjson.loads(r.value) for r in records]
    assert sorted(d["n"] for d in docs) == list(range(5000))
    assert all("@metadata" not in d and "secret" not in d for d in docs)
    assert all("@timestamp" in d for d in docs)


@sync
async def test_topic_and_key_templates(kafka_bootstrap: str) -> None:
    topic_a = await create_topic(kafka_bootstrap, 4)
    topic_b = await create_topic(kafka_bootstrap, 4)
    out = output(kafka_bootstrap, topic_id="%{[dest]}", message_key="%{[user]}")
    batch = [Event({"dest": topic_a if i % 2 else topic_b, "user": f"u{i % 3}", "n": i}) for i in range(300)]
    await out.start()
    try:
        await out.send(batch)
    finally:
        await out.stop()
    got_a = await read_back(kafka_bootstrap, topic_a, 4, 150)
    got_b = await read_back(kafka_bootstrap, topic_b, 4, 150)
    assert sorted(orjson.loads(r.value)["n"] for r in got_a) == list(range(1, 300, 2))
    assert sorted(orjson.loads(r.value)["n"] for r in got_b) == list(range(0, 300, 2))
    for records in (got_a, got_b):
        partition_of_key: dict[bytes, set[int]] = {}
        for r in records:
            assert r.key == f"u{orjson.loads(r.value)['n'] % 3}".encode()
            partition_of_key.setdefault(r.key, set()).add(r.partition)
        assert all(len(p) == 1 for p in partition_of_key.values())  # one key, one partition


@pytest.mark.parametrize("compression", ["gzip", "lz4", "zstd", "snappy"])
@sync
async def test_compressed_batches_round_trip(kafka_bootstrap: str, compression: str) -> None:
    topic = await create_topic(kafka_bootstrap, 1)
    out = output(kafka_bootstrap, topic_id=topic, compression_type=compression, codec="plain")
    await out.start()
    try:
        await out.send(events(1000))
    finally:
        await out.stop()
    records = await read_back(kafka_bootstrap, topic, 1, 1000)
    assert [r.value for r in records] == [f"line {i}".encode() for i in range(1000)]


@sync
async def test_a_pipeline_writes_to_kafka(kafka_bootstrap: str) -> None:
    topic = await create_topic(kafka_bootstrap, 2)
    yaml_text = f"""
inputs:
  - type: generator
    count: 20000
    lines: ['{{"service": {{"name": "graphmemory-api"}}, "log": {{"level": "info"}}}}']
    codec: json
outputs:
  - type: kafka
    bootstrap_servers: "{kafka_bootstrap}"
    topic_id: {topic}
    compression_type: lz4
"""
    async with running(yaml_text) as pipeline:
        await pipeline.inputs_done()
    assert pipeline.stats.events_acked == 20000
    records = await read_back(kafka_bootstrap, topic, 2, 20000)
    docs = [orjson.loads(r.value) for r in records]
    assert sorted(d["sequence"] for d in docs) == list(range(20000))
    assert docs[0]["service"]["name"] == "graphmemory-api"


@sync
async def test_unknown_topic_asks_for_every_record_to_be_retried(kafka_bootstrap: str) -> None:
    out = output(kafka_bootstrap, topic_id="logpipe-test-does-not-exist", request_timeout_ms=1000,
                 retries=1, retry_backoff_ms=10)
    await out.start()
    try:
        delivery = await out.send(events(50))
    finally:
        await out.stop()
    assert delivery is not None and sorted(delivery.retry) == list(range(50))
    assert not delivery.rejected


@sync
async def test_a_record_kafka_can_never_take_is_rejected_alone(kafka_bootstrap: str) -> None:
    """Too large and not serializable are rejected (for the dead-letter queue); the good
    record beside them is on the topic."""
    topic = await create_topic(kafka_bootstrap, 1)
    out = output(kafka_bootstrap, topic_id=topic, max_request_size=1024)
    await out.start()
    try:
        delivery = await out.send([Event({"message": "x" * 5000}), Event({"message": "fine"}),
                                   Event({"bytes": 43947404257507186289})])
    finally:
        await out.stop()
    assert delivery is not None and not delivery.retry
    assert sorted(delivery.rejected) == [0, 2]
    assert delivery.rejected[2].startswith("serialization_error")
    records = await read_back(kafka_bootstrap, topic, 1, 1)
    assert [orjson.loads(r.value)["message"] for r in records] == ["fine"]


@sync
async def test_unreachable_brokers_fail_the_batch_retriably() -> None:
    out = output(f"127.0.0.1:{free_port()}", topic_id="anything")
    await out.start()  # the pipeline still starts; batches fail until the brokers are back
    try:
        with pytest.raises(DeliveryError) as err:
            await out.send(events(3))
    finally:
        await out.stop()
    assert err.value.retriable
