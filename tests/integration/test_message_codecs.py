"""Codecs on the message inputs and outputs, against the real Kafka and Redis: CEF records
read from a Redis list, a Kafka value holding several JSON lines, CEF written to Kafka."""
from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer, TopicPartition

from logpipe.core.event import Event
from logpipe.outputs.kafka import KafkaOutput
from tests.integration.netinput_support import CaptureOutput, register_test_outputs, running, until
from tests.integration.streaming_support import create_topic, produce, sync

pytestmark = pytest.mark.timeout(120)

CEF = b"CEF:0|Fortinet|FortiGate|7.2|13|traffic|5|src=10.1.2.3 dst=8.8.8.8 dpt=53 act=accept"


@sync
async def test_redis_list_items_through_the_cef_codec(redis_url: str, redis_key: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    await client.rpush(redis_key, CEF, b"garbage that is not cef")
    register_test_outputs()
    async with running(f'inputs: [{{type: redis, url: "{redis_url}", key: "{redis_key}", data_type: list, '
                       f'reliable: true, codec: {{type: cef, ecs_compatibility: v8}}}}]\n'
                       'outputs: [{type: capture}]'):
        out = CaptureOutput.instances[0]
        await until(lambda: len(out.events) == 2)
        e = out.events[0]
        assert (e.get("[source][ip]"), e.get("[destination][port]"), e.get("[event][action]")) == \
            ("10.1.2.3", "53", "accept")
        assert e.get("[observer][vendor]") == "Fortinet" and e.metadata["redis"]["key"] == redis_key
        assert out.events[1].tags == ["_cefparsefailure"]
    # Reliable mode removed the items from its processing list once they were delivered.
    assert await client.llen(redis_key) == 0
    assert await client.keys(f"{redis_key}:processing:*") == []
    await client.aclose()


@sync
async def test_a_kafka_value_of_json_lines_gives_one_event_per_line(kafka_bootstrap: str) -> None:
    topic = await create_topic(kafka_bootstrap, 1)
    await produce(kafka_bootstrap, topic, [b'{"n": 1}\n{"n": 2}\nnot json\n', b'{"n": 3}'], 1)
    register_test_outputs()
    async with running(f'inputs: [{{type: kafka, bootstrap_servers: "{kafka_bootstrap}", topics: [{topic}], '
                       f'group_id: {topic}-g, auto_offset_reset: earliest, codec: json_lines}}]\n'
                       'outputs: [{type: capture}]'):
        out = CaptureOutput.instances[0]
        await until(lambda: len(out.events) == 4, timeout=60)
        assert [e.data.get("n") for e in out.events] == [1, 2, None, 3]
        assert out.events[2].tags == ["_jsonparsefailure"]
        assert [e.metadata["kafka"]["offset"] for e in out.events] == [0, 0, 0, 1]
        assert out.events[0].metadata is not out.events[1].metadata


@sync
async def test_kafka_output_writes_cef_records(kafka_bootstrap: str) -> None:
    topic = await create_topic(kafka_bootstrap, 1)
    out = KafkaOutput(KafkaOutput.Config(bootstrap_servers=kafka_bootstrap, topic_id=topic,
                                         codec={"type": "cef", "vendor": "Acme", "name": "%{kind}",
                                                "fields": ["[source][ip]", "message"]}), id="k")
    await out.start()
    try:
        await out.send([Event({"kind": "login", "source": {"ip": "10.0.0.9"}, "message": "a=b|c"})])
    finally:
        await out.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, 0)])
        await consumer.seek_to_beginning()
        batch = await asyncio.wait_for(consumer.getone(), 30)
    finally:
        await consumer.stop()
    assert batch.value == b"CEF:0|Acme|Logstash|1.0|Logstash|login|6|sourceAddress=10.0.0.9 message=a\\=b|c"
