"""Scenario 9: three replicas share a Kafka topic through one consumer group.

Each replica is a ``logpipe run`` process writing to Elasticsearch and, as a
witness, to a local file of everything its outputs were handed. Records keep
arriving at a steady rate while each replica in turn gets SIGTERM and is
started again (a rolling update): a graceful stop drains, commits and leaves
the group, so no record is handed to an output twice. Then one replica is
SIGKILLed: what it had in flight is read again by the others, and that
redelivery is bounded by what one replica can hold. Deterministic ids keep
Elasticsearch exact throughout.
"""
from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.integration.streaming_support import end_offsets, offsets_caught_up
from tests.reliability.kafka_tools import SteadyProducer, coordinates_ids
from tests.reliability.ledger import Ledger
from tests.reliability.pipelines import kafka_to_es
from tests.reliability.procs import Logpipe, RssSampler
from tests.reliability.waits import at_least, es_count, until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]

PARTITIONS = 6
RATE = 500.0
QUEUE = 2000
BATCH = 500
POLL = 250


def replica_pipeline(bootstrap: str, topic: str, group: str, es_url: str, index: str, witness: Path) -> str:
    return kafka_to_es(
        bootstrap=bootstrap, topic=topic, group=group, es_url=es_url, index=index,
        settings={"batch_size": BATCH, "batch_delay_ms": 10, "pipeline_workers": 2, "queue_max_events": QUEUE,
                  "shutdown_timeout": 20},
        kafka={"max_poll_records": POLL, "commit_interval_ms": 200, "session_timeout_ms": 6000,
               "heartbeat_interval_ms": 1000, "rebalance_wait_ms": 5000},
        es={"timeout": 10, "retry_initial_interval": 0.2, "retry_max_interval": 1},
        more_outputs=[{"type": "file", "id": "witness", "path": str(witness)}])


def handed_over(ledger: Ledger, files: list[Path]) -> Counter[int]:
    """How many times each record was handed to the outputs, over every replica's witness file."""
    seen: Counter[int] = Counter()
    for path in files:
        if path.exists():
            data = path.read_bytes()
            for line in data[:data.rfind(b"\n") + 1].splitlines():
                seen.update(ledger.keys(line))
    return seen


def test_rolling_sigterm_redelivers_nothing_and_sigkill_redelivers_a_bounded_amount(
        es_url: str, kafka_bootstrap: str, es_index: str, make_topic: Any, ledger: Ledger,
        logpipes: Any, record_ledger: Any, tmp_path: Path) -> None:
    topic = make_topic(PARTITIONS)
    group = f"{ledger.run_id}-group"
    witnesses = [tmp_path / f"witness-{n}.jsonl" for n in range(3)]
    replicas: list[Logpipe] = [
        logpipes(replica_pipeline(kafka_bootstrap, topic, group, es_url, es_index, witnesses[n]),
                 name=f"replica{n}") for n in range(3)]

    async def scenario() -> None:
        traffic = SteadyProducer(kafka_bootstrap, topic, PARTITIONS, ledger, rate=RATE, batch=50)

        async def progressing(more: int = 1000) -> None:
            target = await es_count(es_url, es_index) + more
            await until(lambda: at_least(es_count(es_url, es_index), target), timeout=90,
                        what=f"{target} documents indexed")

        with RssSampler(*replicas) as rss:
            for r in replicas:
                r.start()
            for r in replicas:
                await r.wait_message("partitions assigned: " + topic, timeout=60)
            producer = asyncio.create_task(traffic.run())
            await progressing(2000)

            # Rolling update: one replica at a time stops gracefully and comes back.
            for r in replicas:
                assignments = r.count_messages("partitions assigned: " + topic)
                assert r.terminate() == 0, r.log_text()[-3000:]
                r.start()
                await r.wait_message("partitions assigned: " + topic, count=assignments + 1, timeout=90)
                await progressing()
            assert not producer.done()
            graceful = handed_over(ledger, witnesses)
            twice_after_rolling = sorted(k for k, n in graceful.items() if n > 1)

            # A replica is lost.
            victim = replicas[1]
            victim.kill()
            await progressing(2000)
            # The log file is appended to across restarts: wait for a new assignment.
            assignments = victim.count_messages("partitions assigned: " + topic)
            victim.start()
            await victim.wait_message("partitions assigned: " + topic, count=assignments + 1,
                                      timeout=90)
            await progressing()

            traffic.stopping.set()
            await producer
            ledger.mark_sent(traffic.where.keys())
            ledger.expected_ids = coordinates_ids(topic, traffic.where)
            ends = await end_offsets(kafka_bootstrap, topic, PARTITIONS)
            await until(lambda: offsets_caught_up(kafka_bootstrap, group, ends), timeout=120,
                        what="every partition committed to its end")
            for r in replicas:
                assert r.terminate() == 0
        after = handed_over(ledger, witnesses)
        redelivered = sum(n - 1 for n in after.values() if n > 1)
        balance = await ledger.check(es_url, es_index)
        balance.assert_balanced()
        assert set(after) == ledger.sent  # the witnesses saw every record too
        assert not twice_after_rolling, (
            f"{len(twice_after_rolling)} records handed over twice during graceful restarts, "
            f"e.g. {twice_after_rolling[:10]}")
        # What one replica can hold: its queue, its workers' batches, one poll per partition.
        bound = QUEUE + 2 * BATCH + PARTITIONS * POLL
        assert redelivered <= bound, (redelivered, bound)
        record_ledger(balance, peak_rss=rss.peak, redelivered_after_sigkill=redelivered,
                      redelivery_bound=bound, replicas=3)

    asyncio.run(scenario())
