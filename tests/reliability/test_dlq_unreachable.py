"""Scenario 7: the dead-letter queue's Kafka is unreachable.

Documents Elasticsearch refuses (here: a ``db`` object where the index maps
``db`` as a keyword, which some generated app logs have) must go somewhere
durable before their batch is acknowledged. With the DLQ broker refused by the
fault proxy they go to the fsynced spill file, the input's offsets move on,
and when the broker is reachable again the spill file is drained to the topic.
If the spill file cannot be written either, the batch is not acknowledged:
the Kafka offset stays before the refused document until a spill or a send
succeeds. Nothing is dropped, nothing is both indexed and dead-lettered.
"""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from logpipe.config import load_text
from logpipe.core.pipeline import Pipeline
from tests.integration.streaming_support import committed_offsets, end_offsets, offsets_caught_up
from tests.reliability.conftest import KAFKA, _es_request
from tests.reliability.faultproxy import FaultProxy
from tests.reliability.kafka_tools import coordinates_ids, produce
from tests.reliability.ledger import Ledger, read_topic
from tests.reliability.pipelines import kafka_to_es
from tests.reliability.waits import until

pytestmark = pytest.mark.timeout(240)

TOTAL = 3000


def pipeline_text(*, bootstrap: str, topic: str, group: str, es_url: str, index: str, dlq_bootstrap: str,
                  dlq_topic: str, spill: Path) -> str:
    return kafka_to_es(
        bootstrap=bootstrap, topic=topic, group=group, es_url=es_url, index=index,
        settings={"batch_size": 250, "batch_delay_ms": 5, "pipeline_workers": 2},
        kafka={"max_poll_records": 250, "commit_interval_ms": 100, "redelivery_backoff_ms": 200},
        es={"retry_initial_interval": 0.1, "retry_max_interval": 0.5,
            "dead_letter_queue": {"bootstrap_servers": dlq_bootstrap, "topic": dlq_topic, "spill_path": str(spill),
                                  "send_timeout": 3, "drain_interval": 0.5}})


def spilled_lines(spill: Path) -> int:
    total = 0
    for path in (spill, spill.with_name(spill.name + ".draining")):
        try:
            total += path.read_bytes().count(b"\n")
        except (FileNotFoundError, NotADirectoryError):
            pass
    return total


async def _setup(es_url: str, index: str, ledger: Ledger, bootstrap: str, topic: str,
                 partitions: int) -> tuple[set[int], dict[int, tuple[int, int]]]:
    status, body = await _es_request(es_url, "PUT", f"/{index}/_mapping",
                                     {"properties": {"db": {"type": "keyword"}}})
    assert status == 200, body
    records = ledger.records(TOTAL)
    where = await produce(bootstrap, topic, records, partitions=partitions)
    ledger.mark_sent(where.keys())
    ledger.expected_ids = coordinates_ids(topic, where)
    refused = {r.seq for r in records if r.doc is not None and "db" in r.doc}
    assert refused, "the generated traffic has no slow-query logs to be refused"
    return refused, where


async def _dlq_keys(bootstrap: str, topic: str, ledger: Ledger) -> set[int]:
    return {k for r in await read_topic(bootstrap, topic, ledger) for k in r.keys}


def test_dlq_broker_away_spills_to_disk_and_drains_later(
        es_url: str, kafka_bootstrap: str, es_index: str, make_topic: Any, ledger: Ledger,
        record_ledger: Any, tmp_path: Path) -> None:
    topic = make_topic(2)
    dlq_topic = make_topic(1, "dlq")
    group = f"{ledger.run_id}-group"
    spill = tmp_path / "spill" / "es.jsonl"
    host, _, port = KAFKA.partition(":")

    async def scenario() -> None:
        refused, _ = await _setup(es_url, es_index, ledger, kafka_bootstrap, topic, 2)
        async with FaultProxy(host, int(port)) as broker:
            broker.set("refuse")
            pipeline = Pipeline(load_text(pipeline_text(
                bootstrap=kafka_bootstrap, topic=topic, group=group, es_url=es_url, index=es_index,
                dlq_bootstrap=broker.address, dlq_topic=dlq_topic, spill=spill)))
            await pipeline.start()
            try:
                ends = await end_offsets(kafka_bootstrap, topic, 2)
                # Everything is acknowledged although the DLQ broker is away: refused documents
                # are on disk, fsynced, before their batches settle.
                await until(lambda: offsets_caught_up(kafka_bootstrap, group, ends), timeout=90,
                            what="every offset committed")
                assert spilled_lines(spill) == len(refused)
                assert await _dlq_keys(kafka_bootstrap, dlq_topic, ledger) == set()
                assert broker.stats.refused > 0
                broker.set("pass")
                await until(lambda: _has(_dlq_keys(kafka_bootstrap, dlq_topic, ledger), refused),
                            timeout=90, what="the spill file drained to the topic")
                await until(lambda: spilled_lines(spill) == 0, timeout=30, what="the spill file removed")
            finally:
                await pipeline.shutdown(20)
        balance = await ledger.check(es_url, es_index, dlq=(kafka_bootstrap, dlq_topic))
        balance.assert_balanced()
        assert await _dlq_keys(kafka_bootstrap, dlq_topic, ledger) == refused
        record_ledger(balance, spilled=len(refused))

    asyncio.run(scenario())


class SpillNotDrained(AssertionError):
    """The spill file was drained only after a restart, not while running."""


def test_when_the_spill_file_cannot_be_written_either_nothing_is_acknowledged(
        es_url: str, kafka_bootstrap: str, es_index: str, make_topic: Any, ledger: Ledger,
        record_ledger: Any, tmp_path: Path) -> None:
    topic = make_topic(1)
    dlq_topic = make_topic(1, "dlq")
    group = f"{ledger.run_id}-group"
    blocker = tmp_path / "spill"
    blocker.write_text("a file where the spill directory should be\n")
    spill = blocker / "es.jsonl"
    host, _, port = KAFKA.partition(":")

    async def scenario() -> bool:
        refused, where = await _setup(es_url, es_index, ledger, kafka_bootstrap, topic, 1)
        first_refused = min(where[s][1] for s in refused)
        async with FaultProxy(host, int(port)) as broker:
            broker.set("refuse")
            text = pipeline_text(bootstrap=kafka_bootstrap, topic=topic, group=group, es_url=es_url,
                                 index=es_index, dlq_bootstrap=broker.address, dlq_topic=dlq_topic,
                                 spill=spill)
            pipeline = Pipeline(load_text(text))
            await pipeline.start()
            try:
                await until(lambda: pipeline.stats.events_failed >= 250, timeout=60,
                            what="a batch failing for want of a dead-letter destination")
                seen = []
                for _ in range(20):
                    seen.append((await committed_offsets(kafka_bootstrap, group)).get(0, 0))
                    await asyncio.sleep(0.1)  # twenty observations over several commit intervals
                assert max(seen) <= first_refused, (seen, first_refused)
                # Make the spill writable: the re-read batch is spilled and acknowledged.
                blocker.unlink()
                blocker.mkdir()
                ends = await end_offsets(kafka_bootstrap, topic, 1)
                await until(lambda: offsets_caught_up(kafka_bootstrap, group, ends), timeout=90,
                            what="every offset committed once the spill works")
                # A batch in flight beside the failed one may have spilled its refused documents
                # before being read again: the dead-letter queue is at-least-once.
                assert spilled_lines(spill) >= len(refused)
                broker.set("pass")
                try:
                    await until(lambda: _has(_dlq_keys(kafka_bootstrap, dlq_topic, ledger), refused),
                                timeout=20, what="the spill file drained to the topic")
                    drained_live = True
                except AssertionError:
                    drained_live = False
            finally:
                await pipeline.shutdown(20)
            if not drained_live:
                # A restart drains what is on disk; the books must balance either way.
                again = Pipeline(load_text(text))
                await again.start()
                try:
                    await until(lambda: _has(_dlq_keys(kafka_bootstrap, dlq_topic, ledger), refused),
                                timeout=60, what="the spill file drained after a restart")
                finally:
                    await again.shutdown(20)
        balance = await ledger.check(es_url, es_index, dlq=(kafka_bootstrap, dlq_topic))
        balance.assert_balanced(allow_dlq_duplicates=True)
        record_ledger(balance, failed_batch_events=pipeline.stats.events_failed,
                      drained_without_restart=drained_live)
        return drained_live

    if not asyncio.run(scenario()):
        raise SpillNotDrained("the spill file reached Kafka only after a restart")


async def _has(value: Any, expected: set[int]) -> bool:
    return expected <= await value
