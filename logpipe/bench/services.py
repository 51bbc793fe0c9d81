"""The real local services the end-to-end scenarios use: Elasticsearch and Kafka.

Small helpers over plain HTTP (aiohttp) and aiokafka, so the scenarios need no
client of their own; every index and topic a run creates carries the run's
prefix and is removed at the end.
"""
from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlparse

import aiohttp
import orjson

from logpipe.bench.common import port_open

#: Same settings for every index a scenario compares: one shard, no replica, and a
#: short refresh so that "all documents searchable" is seen soon after it happens.
INDEX_SETTINGS = {"settings": {"number_of_shards": 1, "number_of_replicas": 0,
                               "refresh_interval": "250ms"}}


def es_reachable(url: str) -> str | None:
    """None when Elasticsearch answers at ``url``; else why not."""
    parsed = urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 9200
    if not port_open(host, port):
        return f"Elasticsearch is not reachable at {url} (start it with scripts/services.sh up)"
    return None


def kafka_reachable(bootstrap: str) -> str | None:
    host, _, port = bootstrap.rpartition(":")
    if not port_open(host or "127.0.0.1", int(port or 9092)):
        return f"Kafka is not reachable at {bootstrap} (start it with scripts/services.sh up)"
    return None


class Es:
    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Es:
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120))
        return self

    async def __aexit__(self, *_exc: Any) -> None:
        if self.session is not None:
            await self.session.close()

    async def request(self, method: str, path: str, body: Any = None,
                      data: bytes | None = None, ndjson: bool = False) -> tuple[int, Any]:
        assert self.session is not None
        if body is not None:
            data = orjson.dumps(body)
        headers = {"content-type": "application/x-ndjson" if ndjson else "application/json"}
        async with self.session.request(method, f"{self.url}{path}", data=data, headers=headers) as resp:
            raw = await resp.read()
            try:
                return resp.status, orjson.loads(raw) if raw else None
            except orjson.JSONDecodeError:
                return resp.status, raw

    async def check(self) -> None:
        status, body = await self.request("GET", "/_cluster/health?wait_for_status=yellow&timeout=30s")
        if status != 200:
            raise RuntimeError(f"Elasticsearch is not healthy: {status} {body!r}")

    async def create_indices(self, names: list[str]) -> None:
        for name in names:
            await self.request("DELETE", f"/{name}?ignore_unavailable=true")
            status, body = await self.request("PUT", f"/{name}", INDEX_SETTINGS)
            if status != 200:
                raise RuntimeError(f"cannot create index {name}: {status} {body!r}")

    async def count(self, pattern: str) -> int:
        status, body = await self.request("GET", f"/{pattern}/_count")
        return int(body.get("count", 0)) if status == 200 and isinstance(body, dict) else 0

    async def wait_count(self, pattern: str, expected: int, timeout: float, poll: float = 0.1) -> int:
        """Poll until ``expected`` documents are searchable; returns the last count."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        n = 0
        while loop.time() < deadline:
            n = await self.count(pattern)
            if n >= expected:
                return n
            await asyncio.sleep(poll)
        return n

    async def delete(self, pattern: str) -> None:
        await self.request("DELETE", f"/{pattern}?ignore_unavailable=true&allow_no_indices=true"
                                     "&expand_wildcards=all")


async def create_topic(bootstrap: str, topic: str, partitions: int) -> None:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
    finally:
        await admin.close()


async def wait_group_settled(bootstrap: str, group: str, members: int, timeout: float = 60.0) -> None:
    """Wait until consumer group ``group`` is stable with ``members`` members.

    Each worker process of a ``logpipe run`` joins the group on its own; the first
    to join takes every partition, and each later one sets off a rebalance that
    stops consumption for seconds. That is start-up, not throughput: a clock
    started before the group settled would count it. On a fresh broker the group
    coordinator may not exist yet (the offsets topic is made on first use): errors
    Kafka calls retriable mean "not yet", not failure.
    """
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.errors import KafkaError

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        state, joined = "", 0
        while loop.time() < deadline:
            try:
                responses = await admin.describe_consumer_groups([group])
            except KafkaError as exc:
                if not exc.retriable:
                    raise
                state, joined = type(exc).__name__, 0
                responses = []
            for response in responses:
                for described in response.groups:
                    # (error_code, group_id, state, protocol_type, protocol, members, ...)
                    state, joined = described[2], len(described[5])
            if state == "Stable" and joined >= members:
                return
            await asyncio.sleep(0.1)
        raise RuntimeError(f"consumer group {group} did not settle within {timeout:.0f}s "
                           f"({state or 'unknown'}, {joined} of {members} members)")
    finally:
        await admin.close()


async def delete_topics(bootstrap: str, topics: list[str]) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics(topics)
    except Exception:  # noqa: BLE001 - cleanup is best effort
        pass
    finally:
        await admin.close()


async def produce(bootstrap: str, topic: str, values: list[bytes], partitions: int) -> None:
    """Send values round-robin over the partitions, a batch at a time (cheap per record)."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5,
                                max_batch_size=1 << 20)
    await producer.start()
    try:
        pending = []
        for part in range(partitions):
            batch = producer.create_batch()
            for value in values[part::partitions]:
                if batch.append(key=None, value=value, timestamp=None) is None:
                    pending.append(await producer.send_batch(batch, topic, partition=part))
                    batch = producer.create_batch()
                    batch.append(key=None, value=value, timestamp=None)
            if batch.record_count():
                pending.append(await producer.send_batch(batch, topic, partition=part))
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
