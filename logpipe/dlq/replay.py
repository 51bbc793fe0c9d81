"""Sending dead-lettered events back to Elasticsearch, once the cause is fixed.

Each record's event goes to the index it was meant for, with the document id
it had, through an ``elasticsearch`` output (the pipeline's own settings, or a
bare one for ``--to-es``). Offsets are committed under a consumer group after
each delivered batch, so an interrupted replay resumes and a finished one is
not repeated; a repeated event would hit its own document id anyway.

The replay reads up to the end of the topic as it was at start and stops; a
batch Elasticsearch still rejects stops the replay with its reason and is not
committed (unless rejected events are to be skipped).
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from logpipe.core.event import Event
from logpipe.core.timestamps import parse_iso
from logpipe.dlq.config import DeadLetterQueueConfig
from logpipe.dlq.reader import Entry, consumer, decode, partitions
from logpipe.errors import DeliveryError

log = logging.getLogger("logpipe.dlq.replay")

#: Templates that route a replayed event where its record says.
INDEX_FROM_RECORD = "%{[@metadata][dlq][index]}"
ID_FROM_RECORD = "%{[@metadata][dlq][document_id]}"
PIPELINE_FROM_RECORD = "%{[@metadata][dlq][ingest_pipeline]}"


@dataclass
class ReplayStats:
    read: int = 0
    replayed: int = 0
    skipped: int = 0
    batches: int = 0


def to_event(entry: Entry) -> Event | None:
    """The stored event with its routing in ``[@metadata][dlq]``; None if there is none."""
    doc = entry.record.get("event")
    if not isinstance(doc, dict):
        return None
    data = dict(doc)
    ts = data.get("@timestamp")
    if isinstance(ts, str):
        parsed = parse_iso(ts)
        if parsed is not None:
            data["@timestamp"] = parsed
    meta: dict[str, Any] = {"dlq": {
        "index": entry.record.get("index"),
        "document_id": entry.record.get("document_id"),
        "ingest_pipeline": entry.record.get("ingest_pipeline"),
        "reason_type": entry.reason_type,
        "partition": entry.partition,
        "offset": entry.offset,
    }}
    return Event(data, meta)


def replay_config(base: Any | None, *, to_es: str | None = None, use_output_index: bool = False,
                  skip_rejected: bool = False) -> Any:
    """Settings of the output that replays: the base output's cluster and credentials,
    routing from the record, and no dead-letter queue of its own (no loop)."""
    from logpipe.outputs.elasticsearch.config import ElasticsearchConfig

    cfg = base if base is not None else ElasticsearchConfig(
        hosts=[to_es] if to_es else ["http://127.0.0.1:9200"])
    update: dict[str, Any] = {"document_id": ID_FROM_RECORD, "pipeline": PIPELINE_FROM_RECORD,
                              "dead_letter_queue": None,
                              "on_rejected": "drop_with_log" if skip_rejected else "fail"}
    if not use_output_index:
        update["index"] = INDEX_FROM_RECORD
    if to_es:
        update["hosts"] = [to_es]
    return cfg.model_copy(update=update)


class RateLimiter:
    """At most ``rate`` events per second on average (None: no limit)."""

    def __init__(self, rate: float | None) -> None:
        self.rate = rate
        self._start: float | None = None
        self._count = 0

    async def take(self, n: int) -> None:
        if not self.rate:
            return
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        self._count += n
        ahead = self._count / self.rate - (loop.time() - self._start)
        if ahead > 0:
            await asyncio.sleep(ahead)


def settle(result: Any) -> None:
    """An output's outcome for a replayed batch: anything not delivered stops the replay
    with the batch uncommitted."""
    if result is None or result.complete:
        return
    reasons = [*result.rejected.values(), *result.retry.values()]
    raise DeliveryError(f"{len(result.rejected)} events still rejected, {len(result.retry)} to "
                        f"retry (first: {reasons[0]})", retriable=bool(result.retry))


async def replay(config: DeadLetterQueueConfig, output: Any, *, group: str,
                 rate: float | None = None, batch_size: int = 500) -> ReplayStats:
    """Replay every record not yet committed under ``group``; returns the counts.

    ``output`` is a started output (``send(events)``); DeliveryError from it
    stops the replay with the batch uncommitted.
    """
    if rate:
        batch_size = max(1, min(batch_size, int(rate)))
    stats = ReplayStats()
    limiter = RateLimiter(rate)
    cons = consumer(config, group_id=group)
    await cons.start()
    try:
        tps = await partitions(config)
        cons.assign(tps)
        end = await cons.end_offsets(tps)
        for tp in tps:
            committed = await cons.committed(tp)
            if committed is None:
                await cons.seek_to_beginning(tp)
            else:
                cons.seek(tp, committed)
        remaining = {tp for tp in tps if await cons.position(tp) < end[tp]}
        while remaining:
            fetched = await cons.getmany(*remaining, timeout_ms=1000, max_records=batch_size)
            for tp, messages in fetched.items():
                messages = [m for m in messages if m.offset < end[tp]]
                if not messages:
                    continue
                stats.read += len(messages)
                events = []
                for message in messages:
                    event = to_event(decode(message))
                    if event is None:
                        stats.skipped += 1
                        log.warning("record %d@%d has no event to replay (truncated or "
                                    "undecodable); passed over", message.offset, tp.partition)
                    else:
                        events.append(event)
                await limiter.take(len(events))
                if events:
                    settle(await output.send(events))
                await cons.commit({tp: messages[-1].offset + 1})
                stats.replayed += len(events)
                stats.batches += 1
            for tp in list(remaining):
                if await cons.position(tp) >= end[tp]:
                    remaining.discard(tp)
    finally:
        await cons.stop()
    return stats
