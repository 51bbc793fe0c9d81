"""The HTTP input and the Kafka input sharing a full pipeline queue: both progress.

The Kafka input always has records waiting for room; HTTP requests arriving while
the queue is full wait for room (``full_wait``) and get it in turn with Kafka,
instead of being answered 429 while Kafka takes every slot that frees.
"""
from __future__ import annotations

import asyncio
from typing import Any

import httpx
import orjson
import pytest

from logpipe.core import registry
from logpipe.core.event import Event
from logpipe.core.plugin import Output, PluginConfig
from logpipe.inputs.http import HttpInput

from tests.integration.streaming_support import create_topic, produce, running, sync, until

pytestmark = pytest.mark.timeout(120)


class StepOutput(Output):
    """Delivers one batch per ``step()``: the test decides when room frees in the queue."""

    Config = PluginConfig
    instances: list[StepOutput] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.steps: asyncio.Queue[None] = asyncio.Queue()
        self.waiting = 0
        self.events: list[Event] = []
        StepOutput.instances.append(self)

    def step(self) -> None:
        self.steps.put_nowait(None)

    async def send(self, events: list[Event]) -> None:
        self.waiting += 1
        try:
            await self.steps.get()
        finally:
            self.waiting -= 1
        self.events.extend(events)


@sync
async def test_http_requests_wait_in_turn_with_kafka_for_a_full_queue(kafka_bootstrap: str) -> None:
    registry.register("output", "step", StepOutput)
    StepOutput.instances.clear()
    kafka_total = 400
    topic = await create_topic(kafka_bootstrap, 1)
    await produce(kafka_bootstrap, topic, [orjson.dumps({"src": "kafka", "n": i}) for i in range(kafka_total)], 1)
    yaml_text = f"""
settings: {{queue_max_events: 40, batch_size: 10, batch_delay_ms: 1, pipeline_workers: 1}}
inputs:
  - {{type: http, id: web, port: 0, full_wait: 60}}
  - {{type: kafka, id: kafka_in, bootstrap_servers: "{kafka_bootstrap}", topics: ["{topic}"],
      group_id: {topic}-group, auto_offset_reset: earliest, codec: json, max_poll_records: 10}}
outputs: [{{type: step}}]
"""
    async with running(yaml_text) as p:
        out = StepOutput.instances[0]
        http_in = p.inputs[0]
        assert isinstance(http_in, HttpInput)
        # Kafka fills the queue (then pauses its partitions, or waits with a fetched batch);
        # the output holds one batch.
        await until(lambda: out.waiting == 1 and p.queue.full, 60, "the Kafka input to fill the queue")

        def kafka_delivered() -> int:
            return sum(1 for e in out.events if e.get("src") == "kafka")

        url = f"http://127.0.0.1:{http_in.bound_port}/"
        async with httpx.AsyncClient(timeout=60) as client:
            requests = [asyncio.ensure_future(client.post(
                url, content=b"".join(orjson.dumps({"src": "http", "r": r, "n": i}) + b"\n" for i in range(10)),
                headers={"Content-Type": "application/x-ndjson"})) for r in range(4)]
            await until(lambda: http_in.server.waiting == 4, 30, "the HTTP requests to wait for room")
            kafka_before = kafka_delivered()
            steps = 0
            while not all(r.done() for r in requests):
                delivered = len(out.events)
                out.step()
                steps += 1
                await until(lambda: len(out.events) > delivered and (out.waiting == 1 or all(
                    r.done() for r in requests)), 30, "the next batch to be delivered")
                assert steps < 100, "the HTTP requests never got room"
            answers = [await r for r in requests]
            kafka_during = kafka_delivered() - kafka_before
        assert [a.status_code for a in answers] == [200] * 4  # none refused: they waited
        assert sum(1 for e in out.events if e.get("src") == "http") == 40
        # Kafka kept going meanwhile, and was far from done when the last request was answered:
        # both inputs progressed while the queue stayed full.
        assert 0 < kafka_during and kafka_delivered() < kafka_total - 100
        # In turn: the 4 requests got in while Kafka got about as many batches in, so they
        # waited behind what was queued when they came plus their share, not behind Kafka's backlog.
        assert steps <= 4 + 4 + 2 * 4 + 1
        while kafka_delivered() < kafka_total:
            delivered = len(out.events)
            out.step()
            await until(lambda: len(out.events) > delivered, 30, "the Kafka backlog to drain")
    assert sorted(e.get("n") for e in out.events if e.get("src") == "kafka") == list(range(kafka_total))
