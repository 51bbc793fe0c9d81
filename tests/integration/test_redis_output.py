"""The ``redis`` output against the real Redis: lists and channels, templated keys,
batches, codecs, and what an unreachable or refusing server does to a batch."""
from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest
import redis.asyncio as aioredis

from logpipe.core.event import Event
from logpipe.errors import DeliveryError
from logpipe.outputs.redis import RedisOutput
from tests.integration.streaming_support import free_port, sync

pytestmark = pytest.mark.timeout(120)


def output(redis_url: str, **options: Any) -> RedisOutput:
    return RedisOutput(RedisOutput.Config(url=redis_url, **options), id="redis_out")


def events(n: int) -> list[Event]:
    return [Event({"n": i, "kind": "ab"[i % 2], "message": f"line {i}"}, {"secret": "never written"})
            for i in range(n)]


@sync
async def test_list_gets_every_event_in_order_as_json(redis_url: str, redis_key: str) -> None:
    out = output(redis_url, data_type="list", key=redis_key)
    await out.start()
    try:
        await out.send(events(300))
    finally:
        await out.stop()
    client = aioredis.Redis.from_url(redis_url)
    items = await client.lrange(redis_key, 0, -1)
    await client.aclose()
    docs = [orjson.loads(i) for i in items]
    assert [d["n"] for d in docs] == list(range(300))
    assert all("secret" not in i.decode() and "@metadata" not in d for i, d in zip(items, docs))
    assert docs[0]["@timestamp"].endswith("Z")


@sync
async def test_templated_keys_batches_and_a_line_codec(redis_url: str, redis_key: str) -> None:
    out = output(redis_url, data_type="list", key=redis_key + ":%{kind}", batch=True, batch_events=7,
                 codec={"type": "line", "format": "%{n}|%{message}", "delimiter": ""})
    await out.start()
    try:
        await out.send(events(50))
    finally:
        await out.stop()
    client = aioredis.Redis.from_url(redis_url)
    a = await client.lrange(redis_key + ":a", 0, -1)
    b = await client.lrange(redis_key + ":b", 0, -1)
    await client.aclose()
    assert a == [f"{i}|line {i}".encode() for i in range(0, 50, 2)]
    assert len(b) == 25


@sync
async def test_channel_publishes_to_subscribers(redis_url: str, redis_key: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    pubsub = client.pubsub()
    await pubsub.subscribe(redis_key)
    await pubsub.get_message(timeout=1)            # the subscribe confirmation
    out = output(redis_url, data_type="channel", key=redis_key)
    await out.start()
    try:
        await out.send(events(5))
    finally:
        await out.stop()
    got = []
    while len(got) < 5:
        msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5)
        assert msg is not None, "a published event did not arrive"
        got.append(orjson.loads(msg["data"])["n"])
    await pubsub.aclose()
    await client.aclose()
    assert got == list(range(5))


@sync
async def test_a_key_of_the_wrong_type_fails_the_batch_not_retriable(redis_url: str, redis_key: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    await client.set(redis_key, "a string, not a list")
    await client.aclose()
    out = output(redis_url, data_type="list", key=redis_key)
    await out.start()
    try:
        with pytest.raises(DeliveryError) as err:
            await out.send(events(2))
        assert err.value.retriable is False and "WRONGTYPE" in str(err.value)
    finally:
        await out.stop()


@sync
async def test_an_unreachable_server_is_retried_then_fails_retriable() -> None:
    out = RedisOutput(RedisOutput.Config(host=[f"127.0.0.1:{free_port()}"], data_type="list", key="k",
                                         retries=2, reconnect_interval=0.05, timeout=1), id="r")
    await out.start()
    try:
        with pytest.raises(DeliveryError) as err:
            await out.send(events(1))
        assert err.value.retriable is True and "3 attempts" in str(err.value)
    finally:
        await out.stop()


@sync
async def test_a_server_that_comes_back_gets_the_batch(redis_url: str, redis_key: str) -> None:
    """The first host is down; the output moves to the next and delivers."""
    parts = urlsplit(redis_url)
    out = RedisOutput(RedisOutput.Config(host=[f"127.0.0.1:{free_port()}", f"{parts.hostname}:{parts.port}"],
                                         data_type="list", key=redis_key, reconnect_interval=0.05,
                                         shuffle_hosts=False), id="r")
    await out.start()
    try:
        await out.send(events(3))
    finally:
        await out.stop()
    client = aioredis.Redis.from_url(redis_url)
    assert await client.llen(redis_key) == 3
    await client.aclose()


@sync
async def test_congestion_threshold_waits_for_the_list_to_drain(redis_url: str, redis_key: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    await client.rpush(redis_key, *[b"x"] * 10)
    out = output(redis_url, data_type="list", key=redis_key, congestion_threshold=5, congestion_interval=0.05)
    await out.start()
    try:
        sending = asyncio.create_task(out.send(events(1)))
        await asyncio.sleep(0.3)
        assert not sending.done()                   # held back while the list is too long
        await client.ltrim(redis_key, 0, 1)
        await asyncio.wait_for(sending, 5)
    finally:
        await out.stop()
    assert await client.llen(redis_key) == 3
    await client.aclose()
