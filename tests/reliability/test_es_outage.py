"""Elasticsearch goes away under load: backpressure, not loss.

Scenario 4: the node is frozen with SIGSTOP under Beats traffic. Windows wait
in the pipeline; keepalive ACKs keep the Beats clients from timing out, so
none reconnects (a reconnect means a resend, and a resend means duplicates
for anything the server had already taken). After SIGCONT everything that was
acknowledged is indexed once. Shortened for CI: a 20 s stop instead of two
minutes, client ACK timeout 8 s and keepalive every 2 s (the same ratio as
Filebeat's 30 s timeout against our 5 s default, well inside the stop).

Scenario 8: Elasticsearch black-holed behind the fault proxy while Kafka
records arrive at a steady rate. The queue fills, the Kafka partitions pause
(the consumer keeps polling, so the group does not rebalance), memory stays
flat, and once the route is back everything catches up. Shortened for CI:
30 s of black hole at 400 records/s instead of 10 minutes.
"""
from __future__ import annotations

import asyncio
import os
import signal
import time
from typing import Any

import pytest

from tests.reliability.clients import BeatsClient, beats_document
from tests.reliability.conftest import es_pid
from tests.reliability.faultproxy import FaultProxy
from tests.integration.streaming_support import end_offsets, offsets_caught_up
from tests.reliability.kafka_tools import SteadyProducer, coordinates_ids
from tests.reliability.ledger import Ledger
from tests.reliability.pipelines import kafka_to_es
from tests.reliability.procs import Logpipe, RssSampler, free_port
from tests.reliability.waits import at_least, es_count, until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

STOP_SECONDS = 20.0
BLACKHOLE_SECONDS = 30.0
MIB = 2**20


def test_sigstopped_elasticsearch_under_beats_traffic(es_url: str, es_index: str, ledger: Ledger,
                                                      logpipes: Any, record_ledger: Any) -> None:
    pid = es_pid()
    if pid is None:
        pytest.skip("Elasticsearch is not the one scripts/services.sh runs here (no pid file to SIGSTOP)")
    port = free_port()
    proc: Logpipe = logpipes(f"""
settings: {{batch_size: 400, batch_delay_ms: 10, pipeline_workers: 2, queue_max_events: 2000}}
inputs:
  - {{type: beats, id: beats, port: {port}, keepalive_interval: 2, client_inactivity_timeout: 120}}
outputs:
  - {{type: elasticsearch, id: es, hosts: ["{es_url}"], index: {es_index}, timeout: 5,
     retry_initial_interval: 0.5, retry_max_interval: 2}}
""")

    async def scenario() -> None:
        proc.start()
        await proc.wait_message("listening for Beats", timeout=60)
        clients = [BeatsClient(port, ack_timeout=8.0) for _ in range(3)]
        stop = asyncio.Event()

        async def ship(client: BeatsClient) -> None:
            while not stop.is_set():
                batch = ledger.records(100)
                await client.send([beats_document(r) for r in batch])
                ledger.mark_sent(r.seq for r in batch)  # acknowledged: now it must not be lost
            client.close()

        with RssSampler(proc) as rss:
            shippers = [asyncio.create_task(ship(c)) for c in clients]
            await until(lambda: at_least(es_count(es_url, es_index), 2000), timeout=60,
                        what="traffic flowing")
            acked_before = len(ledger.sent)
            os.kill(pid, signal.SIGSTOP)
            try:
                stopped_at = time.monotonic()
                while time.monotonic() - stopped_at < STOP_SECONDS:  # the outage lasts this long
                    assert not any(s.done() for s in shippers), [s.exception() for s in shippers if s.done()]
                    await asyncio.sleep(0.5)
                acked_during = len(ledger.sent) - acked_before
            finally:
                try:
                    os.kill(pid, signal.SIGCONT)
                except ProcessLookupError:
                    pytest.fail(f"Elasticsearch (pid {pid}) went away during the stop: were the "
                                "services restarted meanwhile?")
            await until(lambda: at_least(es_count(es_url, es_index), acked_before + 1000), timeout=120,
                        what="traffic flowing again after SIGCONT")
            stop.set()
            await asyncio.wait_for(asyncio.gather(*shippers), 120)
            assert proc.terminate() == 0
        balance = await ledger.check(es_url, es_index)
        balance.assert_balanced()
        assert sum(c.reconnects for c in clients) == 0, [c.reconnects for c in clients]
        assert sum(c.keepalives for c in clients) > 0  # the wait was bridged by keepalive ACKs
        # While the node was stopped, at most what the queue and windows in flight hold was acked.
        assert acked_during <= 2000 + 3 * 100
        record_ledger(balance, peak_rss=rss.peak, reconnects=0,
                      keepalives=sum(c.keepalives for c in clients),
                      longest_ack_wait_s=round(max(c.longest_wait for c in clients), 1))

    asyncio.run(scenario())


def test_black_holed_elasticsearch_pauses_kafka_and_keeps_memory_flat(
        es_url: str, kafka_bootstrap: str, es_index: str, make_topic: Any, ledger: Ledger,
        logpipes: Any, record_ledger: Any) -> None:
    topic = make_topic(3)
    group = f"{ledger.run_id}-group"
    host, _, es_port = es_url.removeprefix("http://").partition(":")
    rate = 400.0

    async def scenario() -> None:
        async with FaultProxy(host, int(es_port or 9200)) as proxy:
            proc: Logpipe = logpipes(kafka_to_es(
                bootstrap=kafka_bootstrap, topic=topic, group=group, es_url=proxy.url, index=es_index,
                settings={"batch_size": 500, "batch_delay_ms": 10, "pipeline_workers": 2,
                          "queue_max_events": 2000},
                kafka={"max_poll_records": 250, "fetch_max_bytes": 1048576, "max_partition_fetch_bytes": 262144,
                       "commit_interval_ms": 500},
                es={"timeout": 5, "retry_initial_interval": 0.5, "retry_max_interval": 2}), log_level="debug")
            proc.start()
            await proc.wait_message("partitions assigned", timeout=60)
            traffic = SteadyProducer(kafka_bootstrap, topic, 3, ledger, rate=rate, batch=40)

            with RssSampler(proc) as rss:
                producer = asyncio.create_task(traffic.run())
                await until(lambda: at_least(es_count(es_url, es_index), 1500), timeout=60,
                            what="records flowing into Elasticsearch")
                baseline = max(rss.samples[-8:])
                proxy.set("blackhole")
                outage_started = time.monotonic()
                while time.monotonic() - outage_started < BLACKHOLE_SECONDS:  # the outage lasts this long
                    assert proc.alive() and not producer.done()
                    await asyncio.sleep(0.5)
                outage_peak = rss.peak
                paused_during = proc.count_messages(r"paused \d+, resumed 0 partitions \(pipeline full\)")
                proxy.set("pass")
                traffic.stopping.set()
                await producer
                ledger.mark_sent(traffic.where.keys())
                ledger.expected_ids = coordinates_ids(topic, traffic.where)
                ends = await end_offsets(kafka_bootstrap, topic, 3)
                await until(lambda: offsets_caught_up(kafka_bootstrap, group, ends), timeout=180,
                            what="the backlog caught up and committed")
                assert proc.terminate() == 0
        balance = await ledger.check(es_url, es_index)
        balance.assert_balanced()
        assert proxy.stats.blackholed_bytes > 0
        assert paused_during >= 1, "the partitions were never paused while Elasticsearch was away"
        # One assignment at start-up, none taken away: pausing kept the member in the group.
        assert proc.count_messages("partitions assigned") == 1
        assert proc.count_messages("partitions revoked") == 0
        growth = outage_peak - baseline
        assert growth < 150 * MIB, f"RSS grew by {growth / MIB:.0f} MiB during the outage"
        record_ledger(balance, peak_rss=rss.peak, baseline_rss_mib=round(baseline / MIB, 1),
                      outage_growth_mib=round(growth / MIB, 1))

    asyncio.run(scenario())
