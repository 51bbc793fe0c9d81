"""The integration servers are the real thing: each test talks to one of them with the
client library logpipe itself uses and checks a round trip that a fake would not pass."""
from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx


def test_elasticsearch_indexes_and_searches(es_url: str, unique_index: str) -> None:
    from elasticsearch import AsyncElasticsearch

    # The header that only a genuine Elasticsearch sends (the Python client refuses
    # to talk to a server without it).
    health = httpx.get(f"{es_url}/_cluster/health", timeout=30)
    assert health.status_code == 200
    assert health.headers.get("X-Elastic-Product") == "Elasticsearch"
    assert health.json()["status"] in {"green", "yellow"}

    index = f"{unique_index}-docs"

    async def body() -> None:
        async with AsyncElasticsearch(es_url, request_timeout=30) as es:
            await es.indices.create(index=index, settings={"number_of_replicas": 0})
            await es.index(
                index=index,
                id="evt-1",
                document={
                    "@timestamp": "2026-01-02T03:04:05Z",
                    "message": "GET /api/memories took 2315 ms",
                    "service": {"name": "graphmemory-api"},
                },
                refresh="wait_for",
            )
            found = await es.search(index=index, query={"match": {"message": "memories"}})
            hits = found["hits"]["hits"]
            assert [h["_id"] for h in hits] == ["evt-1"]
            assert hits[0]["_source"]["service"]["name"] == "graphmemory-api"

    asyncio.run(body())


def test_kafka_produces_consumes_and_commits(
    kafka_bootstrap: str, unique_topic: Callable[..., str]
) -> None:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient

    topic = unique_topic(partitions=3)
    group = f"{topic}-group"
    sent = [f"event-{i}".encode() for i in range(12)]

    async def body() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=True)
        await producer.start()
        try:
            for i, value in enumerate(sent):
                await producer.send_and_wait(topic, value, key=f"key-{i % 4}".encode())
        finally:
            await producer.stop()

        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=kafka_bootstrap,
            group_id=group,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        try:
            received: list[bytes] = []
            ends: dict[int, int] = {}

            async def drain() -> None:
                while len(received) < len(sent):
                    batch = await consumer.getmany(timeout_ms=500)
                    for tp, records in batch.items():
                        received.extend(r.value for r in records)
                        ends[tp.partition] = records[-1].offset + 1

            await asyncio.wait_for(drain(), 60)
            assert sorted(received) == sorted(sent)
            await consumer.commit()
            for partition, end in ends.items():
                assert await consumer.committed(TopicPartition(topic, partition)) == end
        finally:
            await consumer.stop()

        # Read the group's offsets back through the broker's admin API, from a fresh
        # connection: the commit is stored in Kafka, not in the consumer.
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
        await admin.start()
        try:
            offsets = await admin.list_consumer_group_offsets(group)
        finally:
            await admin.close()
        committed = {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic}
        assert {p: o for p, o in committed.items() if p in ends} == ends
        assert sum(committed[p] for p in ends) == len(sent)

    asyncio.run(body())


def test_redis_list_round_trip(redis_url: str, redis_key: str) -> None:
    import redis.asyncio as aioredis

    source, target = f"{redis_key}:in", f"{redis_key}:processing"

    async def body() -> None:
        client = aioredis.Redis.from_url(redis_url)
        try:
            assert await client.ping()
            assert await client.rpush(source, b'{"n": 1}', b'{"n": 2}', b'{"n": 3}') == 3
            assert await client.lrange(source, 0, -1) == [b'{"n": 1}', b'{"n": 2}', b'{"n": 3}']
            # The reliable-queue move: take from the head, park at the tail of another list.
            assert await client.lmove(source, target, "LEFT", "RIGHT") == b'{"n": 1}'
            assert await client.lrange(source, 0, -1) == [b'{"n": 2}', b'{"n": 3}']
            assert await client.lrange(target, 0, -1) == [b'{"n": 1}']
        finally:
            await client.aclose()

    asyncio.run(body())
