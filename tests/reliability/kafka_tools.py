"""Kafka from the test's side: produce keyed records (at once or at a steady rate), read a
topic back, describe a group's members. A group's committed offsets and a topic's end
offsets come from ``tests.integration.streaming_support``, which the Kafka input's own
tests share."""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from logpipe.generate.traffic import Record
from tests.reliability.clients import kafka_value

if TYPE_CHECKING:
    from aiokafka.structs import ConsumerRecord

    from tests.reliability.ledger import Ledger


class KeyedProducer:
    """One producer kept open; ``send`` writes records round-robin over partitions and
    returns where each landed, seq -> (partition, offset), once the broker has them all."""

    def __init__(self, bootstrap: str, topic: str, partitions: int) -> None:
        from aiokafka import AIOKafkaProducer

        self.topic = topic
        self.partitions = partitions
        self._next = 0
        self._producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20,
                                          max_batch_size=512 * 1024)

    async def __aenter__(self) -> KeyedProducer:
        await self._producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._producer.stop()

    async def send(self, records: list[Record]) -> dict[int, tuple[int, int]]:
        pending = []
        for r in records:
            partition = self._next % self.partitions
            self._next += 1
            pending.append((r.seq, await self._producer.send(self.topic, kafka_value(r), partition=partition)))
        where: dict[int, tuple[int, int]] = {}
        for seq, fut in pending:
            meta = await fut
            where[seq] = (meta.partition, meta.offset)
        return where


async def produce(bootstrap: str, topic: str, records: list[Record], *,
                  partitions: int) -> dict[int, tuple[int, int]]:
    """Write records round-robin over partitions; returns seq -> (partition, offset)."""
    async with KeyedProducer(bootstrap, topic, partitions) as producer:
        return await producer.send(records)


class SteadyProducer:
    """Writes the ledger's records to ``topic`` at ``rate`` records a second until ``stopping``
    is set (or ``limit`` records went out); ``where`` holds each acknowledged record's
    (partition, offset).

    Outages, rolling restarts and takeovers are only meaningful while traffic keeps
    arriving, at a pace the pipeline can keep up with when nothing is wrong; a burst
    produced up front would be read before the fault happens.
    """

    def __init__(self, bootstrap: str, topic: str, partitions: int, ledger: Ledger, *, rate: float,
                 batch: int, limit: int | None = None) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.partitions = partitions
        self.ledger = ledger
        self.rate = rate
        self.batch = batch
        self.limit = limit
        self.where: dict[int, tuple[int, int]] = {}
        self.stopping = asyncio.Event()

    @property
    def produced(self) -> int:
        return len(self.where)

    async def run(self) -> None:
        started = time.monotonic()
        sent = 0
        async with KeyedProducer(self.bootstrap, self.topic, self.partitions) as producer:
            while not self.stopping.is_set() and (self.limit is None or sent < self.limit):
                batch = self.ledger.records(self.batch)
                self.where.update(await producer.send(batch))
                sent += len(batch)
                ahead = sent / self.rate - (time.monotonic() - started)  # pacing, not waiting for a state
                if ahead > 0:
                    await asyncio.sleep(ahead)


async def read_to_end(bootstrap: str, topic: str, *,
                      missing_ok: bool = True) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of ``topic``, oldest first per partition, from the start of each partition
    to the end it has when the read begins; no consumer group, so nothing is committed.

    A topic without partitions gives no records when ``missing_ok``, and fails the test
    otherwise. The metadata is always fetched afresh: a topic made moments ago may not be
    in what the consumer learnt when it started.
    """
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                auto_offset_reset="earliest")
    await consumer.start()
    out: list[ConsumerRecord[bytes, bytes]] = []
    try:
        await consumer._client.force_metadata_update()  # noqa: SLF001
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        assert tps or missing_ok, f"topic {topic} has no partitions"
        if not tps:
            return out
        consumer.assign(tps)
        end = await consumer.end_offsets(tps)
        await consumer.seek_to_beginning(*tps)
        remaining = {tp for tp in tps if end[tp] > 0}
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=1000)
            for tp, messages in batch.items():
                out.extend(m for m in messages if m.offset < end[tp])
            for tp in list(remaining):
                if await consumer.position(tp) >= end[tp]:
                    remaining.discard(tp)
    finally:
        await consumer.stop()
    return out


def coordinates_ids(topic: str, where: dict[int, tuple[int, int]]) -> dict[int, str]:
    """The document id the Elasticsearch output gives each record (topic:partition:offset)."""
    return {seq: f"{topic}:{p}:{o}" for seq, (p, o) in where.items()}


@dataclass(frozen=True)
class GroupView:
    """A consumer group as the broker's coordinator describes it."""

    state: str
    #: The partitions of ``topic`` each member holds, one set per member.
    members: tuple[frozenset[int], ...]

    @property
    def assigned(self) -> set[int]:
        return set().union(*self.members) if self.members else set()

    def settled(self, members: int, partitions: int) -> bool:
        """Stable, with exactly ``members`` members sharing all ``partitions`` between them."""
        return (self.state == "Stable" and len(self.members) == members
                and self.assigned == set(range(partitions))
                and sum(len(m) for m in self.members) == partitions)


async def describe_group(bootstrap: str, group: str, topic: str) -> GroupView:
    """The group's state and each member's assignment (a classic-protocol group).

    A member killed without leaving stays listed until its session times out, so a
    view without it, stable and covering every partition, shows that the others took
    over its partitions.
    """
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (response,) = await admin.describe_consumer_groups([group])
    finally:
        await admin.close()
    described = response.to_object()["groups"]
    if not described:
        return GroupView("Dead", ())
    (desc,) = described
    members = []
    for member in desc["members"]:
        raw = member["member_assignment"]
        parts: set[int] = set()
        if raw:
            for name, partitions in ConsumerProtocolMemberAssignment.decode(raw).assignment:
                if name == topic:
                    parts.update(partitions)
        members.append(frozenset(parts))
    return GroupView(str(desc["state"]), tuple(members))
