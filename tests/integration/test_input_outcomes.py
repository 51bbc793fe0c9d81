"""Beats and Redis (reliable mode) acknowledge a batch once every event is delivered or
dead-lettered: a rejected event beside good ones costs neither a resend nor a stall."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from pylogbeat import PyLogBeatClient

from logpipe import Delivery, Event, Output, PluginConfig
from logpipe.core import registry
from logpipe.dlq.directory import read_records

from .netinput_support import run, running, until


class PickyOutput(Output):
    """Delivers everything except events with ``bad: true``, which it rejects for good."""

    Config = PluginConfig
    delivered: list[object] = []

    async def send(self, events: list[Event]) -> Delivery | None:
        delivery = Delivery()
        for i, e in enumerate(events):
            if e.data.get("bad"):
                delivery.reject(i, "mapper_parsing_exception: bad document")
            else:
                PickyOutput.delivered.append(e.data.get("n"))
        return delivery


@pytest.fixture(autouse=True)
def _plugins() -> None:
    registry.register("output", "picky", PickyOutput)
    PickyOutput.delivered = []


def test_beats_acks_a_window_holding_a_rejected_event(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(f"""
settings: {{batch_delay_ms: 2, "path.data": "{tmp_path}"}}
inputs: [{{type: beats, id: beats, port: 0}}]
outputs: [{{type: picky, id: picky}}]
""") as p:
            port = p.inputs[0].bound_port

            def send() -> None:
                with PyLogBeatClient("127.0.0.1", port, timeout=10) as client:
                    client.send([{"n": 1}, {"n": 2, "bad": True}, {"n": 3}])  # returns on the ACK

            await asyncio.to_thread(send)

    run(scenario())
    assert sorted(PickyOutput.delivered) == [1, 3]
    [(_, _, record)] = list(read_records(tmp_path / "dead_letter_queue" / "main"))
    assert record["event"]["n"] == 2 and record["plugin_id"] == "picky"


def test_redis_reliable_mode_clears_items_once_delivered_or_dead_lettered(
        redis_url: str, redis_key: str, tmp_path: Path) -> None:
    async def scenario() -> tuple[int, int]:
        client = aioredis.from_url(redis_url)
        try:
            await client.rpush(redis_key, *[json.dumps({"n": n, "bad": n == 2}) for n in range(1, 5)])
            async with running(f"""
settings: {{batch_delay_ms: 2, "path.data": "{tmp_path}"}}
inputs: [{{type: redis, id: r, url: "{redis_url}", key: "{redis_key}", data_type: list, reliable: true,
          consumer_id: c1}}]
outputs: [{{type: picky, id: picky}}]
"""):
                await until(lambda: len(PickyOutput.delivered) == 3, 20, "good items delivered")
                processing = f"{redis_key}:processing:c1"
                loop = asyncio.get_running_loop()
                deadline = loop.time() + 20
                while await client.llen(processing) or await client.llen(redis_key):
                    assert loop.time() < deadline, "items stayed in the processing list"
                    await asyncio.sleep(0.05)
                return await client.llen(processing), await client.llen(redis_key)
        finally:
            await client.aclose()

    assert run(scenario()) == (0, 0)
    assert sorted(PickyOutput.delivered) == [1, 3, 4]
    [(_, _, record)] = list(read_records(tmp_path / "dead_letter_queue" / "main"))
    assert record["event"]["n"] == 2
