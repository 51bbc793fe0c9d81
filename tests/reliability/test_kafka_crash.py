"""Scenario 1: ``logpipe run`` consuming Kafka is SIGKILLed at random points of a stream.

After every kill the committed offsets are checked against Elasticsearch: every
record before a partition's committed offset must already be indexed (an offset
never passes an undelivered event). The process is started again, picks up
from those offsets, and at the end each record is in Elasticsearch exactly
once, under the id its coordinates give it.

Shortened for CI: 20,000 records (the issue's 200,000 has the same shape and
only takes longer) and four kills.
"""
from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from tests.integration.streaming_support import committed_offsets, end_offsets, offsets_caught_up
from tests.reliability.kafka_tools import coordinates_ids, produce
from tests.reliability.ledger import Ledger, scan_index
from tests.reliability.pipelines import kafka_to_es
from tests.reliability.procs import Logpipe, RssSampler
from tests.reliability.waits import at_least, es_count, until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]

TOTAL = 20_000
PARTITIONS = 3
KILLS = 4


def pipeline(bootstrap: str, topic: str, group: str, es_url: str, index: str) -> str:
    return kafka_to_es(
        bootstrap=bootstrap, topic=topic, group=group, es_url=es_url, index=index,
        settings={"batch_size": 500, "batch_delay_ms": 10, "pipeline_workers": 2, "queue_max_events": 4000},
        kafka={"max_poll_records": 250, "commit_interval_ms": 200, "session_timeout_ms": 6000,
               "heartbeat_interval_ms": 1000},
        es={"batch_size": 500, "timeout": 15, "retry_initial_interval": 0.2, "retry_max_interval": 1})


def test_sigkill_at_random_points_loses_nothing_and_duplicates_nothing(
        es_url: str, kafka_bootstrap: str, es_index: str, make_topic: Any, ledger: Ledger,
        logpipes: Any, record_ledger: Any) -> None:
    topic = make_topic(PARTITIONS)
    group = f"{ledger.run_id}-group"
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    proc: Logpipe = logpipes(pipeline(kafka_bootstrap, topic, group, es_url, es_index))

    async def scenario() -> None:
        records = ledger.records(TOTAL)
        where = await produce(kafka_bootstrap, topic, records, partitions=PARTITIONS)
        ledger.mark_sent(where.keys())
        ledger.expected_ids = coordinates_ids(topic, where)
        by_offset = {(p, o): seq for seq, (p, o) in where.items()}
        kills: list[dict[str, Any]] = []
        with RssSampler(proc) as rss:
            for n in range(KILLS):
                proc.start()
                # A random point of what is left: some fraction of the remaining records.
                indexed = await es_count(es_url, es_index)
                target = indexed + int((TOTAL - indexed) * rng.uniform(0.1, 0.5))
                await until(lambda: at_least(es_count(es_url, es_index), target), timeout=120,
                            what=f"{target} documents before kill {n + 1} (seed {seed})", step=0.02)
                proc.kill()
                offsets = await committed_offsets(kafka_bootstrap, group)
                docs, _ = await scan_index(es_url, es_index)
                present = {k for d in docs for k in ledger.keys(d.raw)}
                undelivered = [(p, o) for p, upto in offsets.items() for o in range(upto)
                               if by_offset[(p, o)] not in present]
                assert not undelivered, (f"kill {n + 1} (seed {seed}): offsets {offsets} committed past "
                                         f"{len(undelivered)} records not in Elasticsearch, e.g. "
                                         f"{undelivered[:5]}")
                kills.append({"at": target, "committed": sum(offsets.values()), "indexed": len(present)})
            proc.start()
            ends = await end_offsets(kafka_bootstrap, topic, PARTITIONS)
            await until(lambda: offsets_caught_up(kafka_bootstrap, group, ends), timeout=180,
                        what=f"the whole stream committed (seed {seed})")
            assert proc.terminate() == 0
        balance = await ledger.check(es_url, es_index)
        balance.assert_balanced()
        assert balance.indexed == TOTAL
        # Each kill left work in flight: what was read again is visible as redelivery.
        redelivered = sum(k["indexed"] - k["committed"] for k in kills)
        record_ledger(balance, peak_rss=rss.peak, kills=len(kills), seed=seed,
                      redelivered_at_most=redelivered)

    asyncio.run(scenario())
