"""Reading the dead-letter topic without a consumer group (``logpipe dlq inspect``).

Nothing is committed and no group is joined, so inspecting never changes what
a replay will do. The read stops at the end offsets taken when it started.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, AsyncIterator

import orjson

from logpipe.dlq.config import DeadLetterQueueConfig
from logpipe.net.kafka_security import client_kwargs


@dataclass(frozen=True)
class Entry:
    """One dead-letter record and where it sits in the topic."""

    partition: int
    offset: int
    timestamp_ms: int
    key: str | None
    record: dict[str, Any]

    @property
    def reason_type(self) -> str:
        return str((self.record.get("error") or {}).get("type", "unknown"))

    @property
    def index(self) -> str:
        return str(self.record.get("index") or "")


@dataclass(frozen=True)
class Selection:
    """Which records to show; None means any."""

    reason_type: str | None = None
    index: str | None = None
    since: datetime | None = None

    def matches(self, entry: Entry) -> bool:
        if self.reason_type is not None and entry.reason_type != self.reason_type:
            return False
        if self.index is not None and entry.index != self.index:
            return False
        if self.since is not None and entry.timestamp_ms < int(self.since.timestamp() * 1000):
            return False
        return True


def decode(message: Any) -> Entry:
    try:
        record = orjson.loads(message.value) if message.value is not None else {}
        if not isinstance(record, dict):
            record = {"value": record}
    except orjson.JSONDecodeError:
        record = {"error": {"type": "_undecodable_record"},
                  "raw": message.value.decode("utf-8", "replace")}
    key = message.key.decode("utf-8", "replace") if message.key is not None else None
    return Entry(message.partition, message.offset, message.timestamp, key, record)


def consumer(config: DeadLetterQueueConfig, *, group_id: str | None = None) -> Any:
    from aiokafka import AIOKafkaConsumer

    return AIOKafkaConsumer(bootstrap_servers=config.servers(), group_id=group_id,
                            enable_auto_commit=False, auto_offset_reset="earliest",
                            client_id=config.client_id, **client_kwargs(config))


async def partitions(config: DeadLetterQueueConfig) -> list[Any]:
    """The topic's partitions; raises LookupError when the topic does not exist."""
    from aiokafka import TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=config.servers(), client_id=config.client_id,
                                **client_kwargs(config))
    await admin.start()
    try:
        (described,) = await admin.describe_topics([config.topic])
    finally:
        await admin.close()
    parts = [p["partition"] for p in described.get("partitions", [])]
    if described.get("error_code") or not parts:
        raise LookupError(f"topic {config.topic} does not exist (or is not visible to this client)")
    return [TopicPartition(config.topic, p) for p in sorted(parts)]


async def read(config: DeadLetterQueueConfig, selection: Selection = Selection(),
               limit: int | None = None) -> AsyncIterator[Entry]:
    """Matching entries, oldest first per partition, until the end seen at start."""
    cons = consumer(config)
    await cons.start()
    try:
        tps = await partitions(config)
        cons.assign(tps)
        end = await cons.end_offsets(tps)
        start = {tp: 0 for tp in tps}
        if selection.since is not None:
            found = await cons.offsets_for_times({tp: int(selection.since.timestamp() * 1000) for tp in tps})
            start = {tp: (found[tp].offset if found.get(tp) is not None else end[tp]) for tp in tps}
        else:
            begin = await cons.beginning_offsets(tps)
            start = {tp: begin[tp] for tp in tps}
        for tp in tps:
            cons.seek(tp, start[tp])
        remaining = {tp for tp in tps if start[tp] < end[tp]}
        shown = 0
        while remaining:
            batch = await cons.getmany(*remaining, timeout_ms=1000, max_records=500)
            for tp, messages in batch.items():
                for message in messages:
                    if message.offset >= end[tp]:
                        break
                    entry = decode(message)
                    if selection.matches(entry):
                        yield entry
                        shown += 1
                        if limit is not None and shown >= limit:
                            return
            for tp in list(remaining):
                if await cons.position(tp) >= end[tp]:
                    remaining.discard(tp)
    finally:
        await cons.stop()
