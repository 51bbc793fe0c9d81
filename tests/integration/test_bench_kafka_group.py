"""The e2e benchmark starts its clock only once logpipe's consumer group has settled.

Each worker process joins the group on its own; until the last one has joined, one
member holds every partition and each join stops consumption for a rebalance. The
helper must wait for a stable group with every member, and say why when it never
gets there.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from logpipe.bench.services import wait_group_settled


def test_waits_until_every_consumer_has_joined(kafka_bootstrap: str,
                                               unique_topic: Callable[..., str]) -> None:
    from aiokafka import AIOKafkaConsumer

    topic = unique_topic(partitions=4)
    group = f"{topic}-group"

    async def body() -> None:
        consumers = [AIOKafkaConsumer(topic, bootstrap_servers=kafka_bootstrap, group_id=group,
                                      auto_offset_reset="earliest") for _ in range(2)]
        await consumers[0].start()
        try:
            first = asyncio.ensure_future(consumers[0].getmany(timeout_ms=100))
            waiting = asyncio.ensure_future(wait_group_settled(kafka_bootstrap, group, 2, timeout=60))
            # One member only: the group may be stable, but not with two members.
            while not first.done():
                await asyncio.sleep(0.05)
            assert not waiting.done()
            await consumers[1].start()

            async def poll_both() -> None:
                while not waiting.done():
                    await asyncio.gather(*(c.getmany(timeout_ms=100) for c in consumers))

            poller = asyncio.ensure_future(poll_both())
            await waiting
            await poller
            # Settled means both hold partitions: the four are shared out.
            while not all(c.assignment() for c in consumers):
                await asyncio.gather(*(c.getmany(timeout_ms=100) for c in consumers))
            owned = [len(c.assignment()) for c in consumers]
            assert sum(owned) == 4 and min(owned) >= 1
        finally:
            for c in consumers:
                await c.stop()

    asyncio.run(body())


def test_says_why_when_the_group_never_settles(kafka_bootstrap: str,
                                               unique_topic: Callable[..., str]) -> None:
    topic = unique_topic(partitions=1)
    with pytest.raises(RuntimeError, match=r"did not settle .*0 of 2 members"):
        asyncio.run(wait_group_settled(kafka_bootstrap, f"{topic}-nobody", 2, timeout=1.0))
