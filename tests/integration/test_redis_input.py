"""The ``redis`` input against a real Redis: lists, channels, patterns, and reliability.

The shared server (``redis_url``) serves the delivery tests; the restart test
runs a private redis-server it may kill.
"""
from __future__ import annotations

import asyncio
import uuid
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

import orjson
import pytest
import redis.asyncio as aioredis

from logpipe.core.pipeline import Pipeline

from tests.integration.streaming_support import (
    CollectOutput,
    LogpipeProcess,
    RedisServer,
    count_lines,
    read_json_lines,
    running,
    sync,
    until,
    until_async,
)

pytestmark = pytest.mark.timeout(120)


def pipeline_yaml(url: str, key: str, data_type: str, *, output: str = "type: collect",
                  settings: dict[str, object] | None = None, **options: object) -> str:
    merged = {"batch_delay_ms": 5, **(settings or {})}
    setting_lines = "".join(f"  {k}: {v}\n" for k, v in merged.items())
    option_lines = "".join(f"    {k}: {v}\n" for k, v in options.items())
    return f"""
settings:
{setting_lines}inputs:
  - type: redis
    id: redis_in
    url: {url}
    key: "{key}"
    data_type: {data_type}
{option_lines}outputs:
  - {output}
"""


def items(n: int, start: int = 0) -> list[bytes]:
    return [orjson.dumps({"n": i, "service": {"name": "graphmemory-api"}}) for i in range(start, start + n)]


@asynccontextmanager
async def connect(url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def key() -> str:
    return f"logpipe-test:{uuid.uuid4().hex[:12]}"


def collected(pipeline: Pipeline) -> CollectOutput:
    out = pipeline.outputs[0]
    assert isinstance(out, CollectOutput)
    return out


@sync
async def test_list_delivers_json_and_keeps_bad_items(redis_url: str, key: str) -> None:
    async with connect(redis_url) as rclient:
        good = items(3000)
        await rclient.rpush(key, *good[:1500], b"{not json", *good[1500:])
        async with running(pipeline_yaml(redis_url, key, "list", batch_count=200)) as p:
            out = collected(p)
            await out.wait_until(lambda: len(out.events) >= 3001)
            assert await rclient.llen(key) == 0
        numbers = [e.get("n") for e in out.events if e.get("n") is not None]
        assert sorted(numbers) == list(range(3000))
        bad = [e for e in out.events if e.has_tag("_jsonparsefailure")]
        assert [e.get("message") for e in bad] == ["{not json"]
        assert out.events[0].get("[@metadata][redis][key]") == key
        assert out.events[0].get("[service][name]") == "graphmemory-api"


@sync
async def test_list_waits_for_items_pushed_later(redis_url: str, key: str) -> None:
    async with connect(redis_url) as rclient:
        async with running(pipeline_yaml(redis_url, key, "list", block_timeout=0.2)) as p:
            out = collected(p)
            for chunk in range(5):
                await rclient.rpush(key, *items(100, chunk * 100))
                await out.wait_until(lambda c=chunk: len(out.events) >= (c + 1) * 100)
        assert sorted(e.get("n") for e in out.events) == list(range(500))


async def _wait_subscribed(client: aioredis.Redis, channel: str | None = None) -> None:
    async def ready() -> bool:
        if channel is None:
            return int(await client.execute_command("PUBSUB", "NUMPAT")) > 0
        counts = await client.pubsub_numsub(channel)
        return bool(counts and counts[0][1] > 0)
    await until_async(ready, 10, "the input to subscribe")


@sync
async def test_channel_delivers_published_messages(redis_url: str, key: str) -> None:
    async with connect(redis_url) as rclient:
        async with running(pipeline_yaml(redis_url, key, "channel")) as p:
            out = collected(p)
            await _wait_subscribed(rclient, key)
            for raw in items(1000):
                await rclient.publish(key, raw)
            await out.wait_until(lambda: len(out.events) >= 1000)
        assert sorted(e.get("n") for e in out.events) == list(range(1000))
        assert out.events[0].get("[@metadata][redis][channel]") == key


@sync
async def test_pattern_channel_delivers_from_every_matching_channel(redis_url: str, key: str) -> None:
    async with connect(redis_url) as rclient:
        async with running(pipeline_yaml(redis_url, f"{key}:*", "pattern_channel", codec="plain")) as p:
            out = collected(p)
            await _wait_subscribed(rclient)
            for i in range(300):
                await rclient.publish(f"{key}:{['api', 'web', 'worker'][i % 3]}", f"line {i}")
            await rclient.publish(f"other-{key}", "not matched")
            await out.wait_until(lambda: len(out.events) >= 300)
        assert sorted(int(e.get("message").split()[1]) for e in out.events) == list(range(300))
        channels = {e.get("[@metadata][redis][channel]") for e in out.events}
        assert channels == {f"{key}:api", f"{key}:web", f"{key}:worker"}
        assert {e.get("[@metadata][redis][pattern]") for e in out.events} == {f"{key}:*"}


@sync
async def test_reliable_list_keeps_items_until_delivered(redis_url: str, key: str) -> None:
    async with connect(redis_url) as rclient:
        processing = f"{key}:processing:t1"
        await rclient.rpush(key, *items(400))
        yaml_text = pipeline_yaml(redis_url, key, "list", reliable="true", consumer_id="t1", batch_count=50,
                                  settings={"queue_max_events": 100})
        async with running(yaml_text) as p:
            out = collected(p)
            out.gate.clear()  # the output is stuck: nothing can be acknowledged
            await until_async(lambda: _llen_at_least(rclient, processing, 50), 10, "items to be taken")
            assert out.events == []
            async with rclient.pipeline(transaction=True) as both:
                taken, waiting = await both.llen(processing).llen(key).execute()
            assert taken + waiting == 400  # moved, not popped: nothing is only in our memory
            out.gate.set()
            await out.wait_until(lambda: len(out.events) >= 400)
            await until_async(lambda: _llen_is(rclient, processing, 0), 10, "acknowledged items to go")
        assert sorted(e.get("n") for e in out.events) == list(range(400))


async def _llen_at_least(client: aioredis.Redis, key: str, n: int) -> bool:
    return int(await client.llen(key)) >= n


async def _llen_is(client: aioredis.Redis, key: str, n: int) -> bool:
    return int(await client.llen(key)) == n


@sync
async def test_reliable_list_redelivers_what_an_earlier_run_left(redis_url: str, key: str) -> None:
    async with connect(redis_url) as rclient:
        processing = f"{key}:processing:t2"
        await rclient.rpush(processing, *items(250))  # what a crashed run had taken
        await rclient.rpush(key, *items(250, 250))
        yaml_text = pipeline_yaml(redis_url, key, "list", reliable="true", consumer_id="t2", batch_count=40)
        async with running(yaml_text) as p:
            out = collected(p)
            await out.wait_until(lambda: len(out.events) >= 500)
            await until_async(lambda: _llen_is(rclient, processing, 0), 10, "the processing list to empty")
        numbers = [e.get("n") for e in out.events]
        assert sorted(numbers) == list(range(500))
        assert set(numbers[:250]) == set(range(250))  # the left-overs go first


@sync
async def test_failed_batches_are_submitted_again(redis_url: str, key: str) -> None:
    async with connect(redis_url) as rclient:
        await rclient.rpush(key, *items(1000))
        for reliable in ("true", "false"):
            yaml_text = pipeline_yaml(redis_url, key, "list", output="type: collect\n    fail_first: 3",
                                      reliable=reliable, consumer_id="f1", batch_count=100)
            async with running(yaml_text) as p:
                out = collected(p)
                await out.wait_until(lambda: len({e.get("n") for e in out.events}) >= 1000)
                await until_async(lambda: _llen_is(rclient, f"{key}:processing:f1", 0), 10,
                                  "the processing list to empty")
            assert out.refused == 3
            assert sorted(e.get("n") for e in out.events) == list(range(1000))
            await rclient.rpush(key, *items(1000))


@sync
async def test_reliable_list_survives_sigkill(redis_url: str, key: str, tmp_path: Path) -> None:
    async with connect(redis_url) as rclient:
        total = 30_000
        processing = f"{key}:processing:killed"
        out_file = tmp_path / "out.jsonl"
        pipeline_file = tmp_path / "redis.yaml"
        pipeline_file.write_text(pipeline_yaml(
            redis_url, key, "list", reliable="true", consumer_id="killed", batch_count=100,
            output=f"type: file\n    path: {out_file}\n    fsync: true",
            # Big, slowly filled worker batches keep thousands of items in flight.
            settings={"batch_size": 2000, "batch_delay_ms": 100}))
        for start in range(0, total, 5000):
            await rclient.rpush(key, *items(5000, start))
        proc = LogpipeProcess(pipeline_file, tmp_path / "run.log")
        proc.start()
        try:
            await until(lambda: count_lines(out_file) >= 3000 or not proc.alive(), 60, "first deliveries")
            assert proc.alive(), proc.log_text()
            proc.kill()
            left_in_processing = await rclient.llen(processing)
            assert left_in_processing > 0, "nothing was in flight at the kill; nothing was tested"
            before = count_lines(out_file)
            assert before < total, "the stream ended before the kill; nothing was tested"
            proc.start()
            await until(lambda: len({r["n"] for r in read_json_lines(out_file)}) >= total or not proc.alive(),
                        90, "every item after the restart")
            assert proc.terminate() == 0, proc.log_text()
        finally:
            if proc.alive():
                proc.kill()
        seen = [r["n"] for r in read_json_lines(out_file)]
        assert set(seen) == set(range(total))
        assert await rclient.llen(processing) == 0
        assert await rclient.llen(key) == 0
        # Duplicates are only the items that were taken but not acknowledged at the kill.
        assert len(seen) - total <= left_in_processing


@sync
async def test_reliable_list_survives_a_redis_restart(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "redis")
    await asyncio.to_thread(server.start)
    client = aioredis.Redis.from_url(server.url)
    try:
        key = "graphmemory:logs"
        await client.rpush(key, *items(3000))
        yaml_text = pipeline_yaml(server.url, key, "list", reliable="true", consumer_id="r1", batch_count=50,
                                  block_timeout=0.2, reconnect_backoff_ms=50, reconnect_backoff_max_ms=500,
                                  output="type: collect\n    delay_ms: 10")
        async with running(yaml_text) as p:
            out = collected(p)
            await out.wait_until(lambda: len(out.events) >= 500)
            server.kill()
            await client.aclose()
            await asyncio.to_thread(server.start)
            client = aioredis.Redis.from_url(server.url)
            await client.rpush(key, *items(1000, 3000))  # new items after the restart arrive too
            await out.wait_until(lambda: len({e.get("n") for e in out.events}) >= 4000, timeout=60)
            await until_async(lambda: _llen_is(client, f"{key}:processing:r1", 0), 10,
                              "the processing list to empty")
        assert {e.get("n") for e in out.events} == set(range(4000))
    finally:
        await client.aclose()
        server.kill()


@sync
async def test_plain_list_reconnects_after_a_redis_restart(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "redis")
    await asyncio.to_thread(server.start)
    key = "plain:logs"
    client = aioredis.Redis.from_url(server.url)
    try:
        yaml_text = pipeline_yaml(server.url, key, "list", block_timeout=0.2, reconnect_backoff_ms=50,
                                  reconnect_backoff_max_ms=500)
        async with running(yaml_text) as p:
            out = collected(p)
            await client.rpush(key, *items(100))
            await out.wait_until(lambda: len(out.events) >= 100)
            server.kill()
            await client.aclose()
            await asyncio.to_thread(server.start)
            client = aioredis.Redis.from_url(server.url)
            await client.rpush(key, *items(100, 100))
            await out.wait_until(lambda: len(out.events) >= 200, timeout=30)
        assert sorted(e.get("n") for e in out.events) == list(range(200))
    finally:
        await client.aclose()
        server.kill()
