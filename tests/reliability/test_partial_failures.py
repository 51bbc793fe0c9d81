"""Failures Elasticsearch reports per document, and the one it cannot report at all.

Scenario 2: one document answered 503 while the documents after it are written.
The Kafka offset is the only acknowledgement Kafka has; it must not move past
that document until it is written (the fault clears) or dead-lettered.

Scenario 3: the connection is reset after Elasticsearch applied a ``_bulk``
but before the answer arrived. The output cannot know what was written, so it
sends the same documents again; deterministic ids turn the second write into
a 409 "already there", and nothing is indexed twice.

Scenario 6: a mix of per-item 429/503/403 (retried until they clear), 400/404
(dead-lettered with the original event, status, reason and coordinates) and
whole requests answered 502 or not answered before the timeout (sent again).
"""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from logpipe.config import load_text
from logpipe.core.pipeline import Pipeline
from tests.integration.streaming_support import committed_offsets, end_offsets, offsets_caught_up
from tests.reliability.clients import HttpSender
from tests.reliability.esproxy import BulkItemFaults
from tests.reliability.faultproxy import FaultProxy
from tests.reliability.kafka_tools import coordinates_ids, produce
from tests.reliability.ledger import Ledger, read_topic
from tests.reliability.pipelines import kafka_to_es
from tests.reliability.waits import es_count, until

pytestmark = pytest.mark.timeout(180)


def pipeline_text(*, bootstrap: str, topic: str, group: str, es: str, index: str, dlq_topic: str,
                  spill: Path, timeout: float = 10, retry_initial_interval: float = 0.1,
                  dlq_send_timeout: float = 10, dlq_custom_codes: list[int] | None = None) -> str:
    """Kafka to Elasticsearch (through ``es``), dead-lettering to ``dlq_topic`` on the same broker."""
    output: dict[str, Any] = {"timeout": timeout, "retry_initial_interval": retry_initial_interval,
                              "retry_max_interval": 0.5}
    if dlq_custom_codes is not None:
        output["dlq_custom_codes"] = dlq_custom_codes
    output["dead_letter_queue"] = {"bootstrap_servers": bootstrap, "topic": dlq_topic, "spill_path": str(spill),
                                   "send_timeout": dlq_send_timeout}
    return kafka_to_es(
        bootstrap=bootstrap, topic=topic, group=group, es_url=es, index=index,
        settings={"batch_size": 200, "batch_delay_ms": 5, "pipeline_workers": 2, "shutdown_timeout": 20},
        kafka={"max_poll_records": 200, "commit_interval_ms": 100, "redelivery_backoff_ms": 200},
        es=output)


@pytest.mark.parametrize("outcome", ["written", "dead_lettered"])
def test_one_document_failing_with_503_holds_the_committed_offset(
        outcome: str, es_url: str, kafka_bootstrap: str, es_index: str, make_topic: Any,
        ledger: Ledger, record_ledger: Any, tmp_path: Path) -> None:
    topic = make_topic(1)
    dlq_topic = make_topic(1, "dlq")
    group = f"{ledger.run_id}-group"
    total = 3000

    async def scenario() -> None:
        records = ledger.records(total)
        where = await produce(kafka_bootstrap, topic, records, partitions=1)
        ledger.mark_sent(where)
        ledger.expected_ids = coordinates_ids(topic, where)
        victim = records[700].seq
        victim_offset = where[victim][1]
        marker = f"{ledger.run_id}-{victim}\"".encode()
        async with BulkItemFaults(es_url) as proxy:
            proxy.failing = {marker: 503}
            pipeline = Pipeline(load_text(pipeline_text(
                bootstrap=kafka_bootstrap, topic=topic, group=group, es=proxy.url, index=es_index,
                dlq_topic=dlq_topic, spill=tmp_path / "spill.jsonl",
                dlq_custom_codes=[503] if outcome == "dead_lettered" else None)))
            await pipeline.start()
            try:
                if outcome == "written":
                    # Every other document is written, including the 2299 after the victim ...
                    await until(lambda: es_count(es_url, es_index), timeout=60, what="first documents")
                    await until(lambda: _equals(es_count(es_url, es_index), total - 1), timeout=90,
                                what="all documents but the failing one")
                    # ... while the offset stays at or before it, commit after commit.
                    seen = []
                    for _ in range(20):
                        seen.append((await committed_offsets(kafka_bootstrap, group)).get(0, 0))
                        await asyncio.sleep(0.1)  # twenty observations, two commit intervals apart
                    assert seen and max(seen) <= victim_offset, (seen, victim_offset)
                    assert proxy.failed_attempts[marker] >= 3  # retried, not given up on
                    proxy.failing = {}
                else:
                    # The first commit past the victim may only happen once it is in the DLQ.
                    past = await until(lambda: _past(kafka_bootstrap, group, victim_offset), timeout=90,
                                       what="the commit to pass the victim")
                    dead = await read_topic(kafka_bootstrap, dlq_topic, ledger)
                    assert victim in {k for r in dead for k in r.keys}, past
                ends = await end_offsets(kafka_bootstrap, topic, 1)
                await until(lambda: _equals(_committed0(kafka_bootstrap, group), ends[0]), timeout=90,
                            what="everything committed")
            finally:
                await pipeline.shutdown(20)
        balance = await ledger.check(es_url, es_index, dlq=(kafka_bootstrap, dlq_topic),
                                     dlq_reasons={"unavailable_shards_exception"})
        balance.assert_balanced()
        assert balance.dead_lettered == (1 if outcome == "dead_lettered" else 0)
        record_ledger(balance, victim_attempts=proxy.failed_attempts[marker])

    asyncio.run(scenario())


async def _equals(value: Any, expected: int) -> bool:
    return (await value) == expected


async def _committed0(bootstrap: str, group: str) -> int:
    return (await committed_offsets(bootstrap, group)).get(0, 0)


async def _past(bootstrap: str, group: str, offset: int) -> int | None:
    now = await _committed0(bootstrap, group)
    return now if now > offset else None


# --- scenario 3 -----------------------------------------------------------------------------
@pytest.mark.parametrize("source", ["kafka", "http"])
def test_a_reset_after_the_bulk_was_applied_creates_no_duplicates(
        source: str, es_url: str, kafka_bootstrap: str, es_index: str, make_topic: Any,
        ledger: Ledger, record_ledger: Any, tmp_path: Path) -> None:
    """Kafka events get ids from their coordinates, HTTP events from a hash of their content;
    both must make the resent bulk a no-op."""
    total = 4000
    host, _, port = es_url.removeprefix("http://").partition(":")
    if source == "kafka":
        topic = make_topic(2)
        dlq_topic = make_topic(1, "dlq")
        group = f"{ledger.run_id}-group"

    async def scenario() -> None:
        async with FaultProxy(host, int(port or 9200)) as proxy:
            proxy.arm_reset(3, match=b"POST /_bulk")
            if source == "kafka":
                records = ledger.records(total)
                where = await produce(kafka_bootstrap, topic, records, partitions=2)
                ledger.mark_sent(where)
                ledger.expected_ids = coordinates_ids(topic, where)
                text = pipeline_text(bootstrap=kafka_bootstrap, topic=topic, group=group, es=proxy.url,
                                     index=es_index, dlq_topic=dlq_topic, spill=tmp_path / "spill.jsonl")
            else:
                text = f"""
settings: {{batch_size: 250, batch_delay_ms: 5, pipeline_workers: 2}}
inputs: [{{type: http, id: web, port: 0}}]
outputs:
  - {{type: elasticsearch, id: es, hosts: ["{proxy.url}"], index: {es_index}, timeout: 10,
     retry_initial_interval: 0.1, retry_max_interval: 0.5, id_strategy: content_hash}}
"""
            pipeline = Pipeline(load_text(text))
            await pipeline.start()
            try:
                if source == "kafka":
                    ends = await end_offsets(kafka_bootstrap, topic, 2)
                    await until(lambda: offsets_caught_up(kafka_bootstrap, group, ends), timeout=120,
                                what="everything committed")
                else:
                    url = f"http://127.0.0.1:{pipeline.inputs[0].bound_port}/"  # type: ignore[attr-defined]
                    async with HttpSender(url) as client:
                        async def post(start: int) -> None:
                            for _ in range(start, total, 1000):
                                batch = ledger.records(250)
                                await client.send(batch)
                                ledger.mark_sent(r.seq for r in batch)
                        await asyncio.gather(*(post(i * 250) for i in range(4)))
                    assert set(client.statuses) == {200}
            finally:
                await pipeline.shutdown(20)
            counters = pipeline.outputs[0].counters  # type: ignore[attr-defined]
        assert proxy.stats.resets_after_forward == 3
        assert counters.already_written > 0  # the resent documents were found already written
        balance = await ledger.check(es_url, es_index)
        balance.assert_balanced()
        assert balance.indexed == total
        record_ledger(balance, resets=proxy.stats.resets_after_forward,
                      already_written=counters.already_written)

    asyncio.run(scenario())


# --- scenario 6 -----------------------------------------------------------------------------
def test_item_and_request_failures_are_retried_or_dead_lettered_and_nothing_stalls(
        es_url: str, kafka_bootstrap: str, es_index: str, make_topic: Any, ledger: Ledger,
        record_ledger: Any, tmp_path: Path) -> None:
    """Per-item 429/503/403 clear after a few attempts and are retried, with a backoff that
    never undercuts the configured floor; per-item 400/404 go to the DLQ with the original
    event, the status, the reason and the Kafka coordinates; whole requests answered 502 or
    left without an answer past the timeout are sent again. Everything is committed."""
    topic = make_topic(3)
    dlq_topic = make_topic(1, "dlq")
    group = f"{ledger.run_id}-group"
    total = 5000
    initial, cap = 0.2, 0.5  # retry_initial_interval, retry_max_interval

    async def scenario() -> None:
        records = ledger.records(total)
        where = await produce(kafka_bootstrap, topic, records, partitions=3)
        ledger.mark_sent(where.keys())
        ledger.expected_ids = coordinates_ids(topic, where)
        victims = [r.seq for r in records[100::140]][:35]
        plan = {429: (victims[0:10], [429] * 3), 503: (victims[10:20], [503] * 2),
                403: (victims[20:25], [403] * 2), 400: (victims[25:30], None), 404: (victims[30:35], None)}
        marker = {seq: f"{ledger.run_id}-{seq}\"".encode() for seq in victims}
        async with BulkItemFaults(es_url) as proxy:
            proxy.hold_seconds = 4.0
            proxy.request_faults = [502, 502, "timeout", 502]
            for status, (seqs, flaky) in plan.items():
                for seq in seqs:
                    if flaky is None:
                        proxy.failing[marker[seq]] = status
                    else:
                        proxy.flaky[marker[seq]] = list(flaky)
            pipeline = Pipeline(load_text(pipeline_text(
                bootstrap=kafka_bootstrap, topic=topic, group=group, es=proxy.url, index=es_index,
                dlq_topic=dlq_topic, spill=tmp_path / "spill.jsonl", timeout=2, retry_initial_interval=initial,
                dlq_send_timeout=2)))
            await pipeline.start()
            try:
                ends = await end_offsets(kafka_bootstrap, topic, 3)
                await until(lambda: offsets_caught_up(kafka_bootstrap, group, ends), timeout=120,
                            what="every offset committed (no stall)")
            finally:
                await pipeline.shutdown(20)
            counters = pipeline.outputs[0].counters  # type: ignore[attr-defined]
        permanent = set(plan[400][0]) | set(plan[404][0])
        balance = await ledger.check(es_url, es_index, dlq=(kafka_bootstrap, dlq_topic),
                                     dlq_reasons={"mapper_parsing_exception", "index_not_found_exception"})
        balance.assert_balanced()
        assert balance.dead_lettered == len(permanent)
        dead = await read_topic(kafka_bootstrap, dlq_topic, ledger)
        for rec in dead:
            (seq,) = rec.keys
            assert seq in permanent
            assert rec.record["error"]["status"] == (400 if seq in plan[400][0] else 404)
            assert rec.record["error"]["reason"]
            assert rec.record["document_id"] == ledger.expected_ids[seq]  # topic:partition:offset
            assert rec.record["event"]["@timestamp"]  # the original document, as it was written
        assert proxy.request_faults_used == {"502": 3, "timeout": 1}
        # Every flaky document was retried until it went through, never sooner than the
        # jittered floor of its step: half of min(cap, initial * 2^(n-1)).
        gaps: list[float] = []
        for status in (429, 503, 403):
            seqs, flaky = plan[status]
            assert flaky is not None
            for seq in seqs:
                times = proxy.attempt_times[marker[seq]]
                assert len(times) == len(flaky) + 1, (status, seq, times)
                for n, (a, b) in enumerate(zip(times, times[1:]), 1):
                    assert b - a >= min(cap, initial * 2 ** (n - 1)) / 2 - 0.01, (status, seq, n, b - a)
                    gaps.append(b - a)
        assert counters.retries > 0
        record_ledger(balance, retries=counters.retries, already_written=counters.already_written,
                      shortest_retry_gap_s=round(min(gaps), 3), longest_retry_gap_s=round(max(gaps), 3))

    asyncio.run(scenario())
