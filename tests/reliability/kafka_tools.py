"""Kafka from the test's side: produce keyed records, read a group's committed offsets and members."""
from __future__ import annotations

from dataclasses import dataclass

from logpipe.generate.traffic import Record
from tests.reliability.clients import kafka_value


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


async def committed(bootstrap: str, group: str) -> dict[int, int]:
    """The group's committed offset per partition (partitions without a commit are absent)."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {tp.partition: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}


async def end_offsets(bootstrap: str, topic: str, partitions: int) -> dict[int, int]:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        ends = await consumer.end_offsets([TopicPartition(topic, p) for p in range(partitions)])
    finally:
        await consumer.stop()
    return {tp.partition: off for tp, off in ends.items()}


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
