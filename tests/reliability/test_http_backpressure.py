"""Scenario 5: the HTTP input in front of a dead Elasticsearch.

Elasticsearch is black-holed; the first requests fill the pipeline and wait
for delivery, every later one is answered at once with 429 and a Retry-After
header, while the outage is still going on (it does not wait for
Elasticsearch). When the route is back, the held requests are answered 200,
the refused ones are retried by their clients, and the events answered 2xx
are exactly the events in Elasticsearch.
"""
from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import pytest

from tests.reliability.clients import HttpSender
from tests.reliability.faultproxy import FaultProxy
from tests.reliability.ledger import Ledger
from tests.reliability.procs import Logpipe, RssSampler, free_port
from tests.reliability.waits import at_least, es_count, until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

OUTAGE_SECONDS = 10.0
SENDERS = 12
REQUESTS_EACH = 12
EVENTS_PER_REQUEST = 100


def test_http_answers_429_with_retry_after_while_elasticsearch_is_dead(
        es_url: str, es_index: str, ledger: Ledger, logpipes: Any, record_ledger: Any) -> None:
    host, _, es_port = es_url.removeprefix("http://").partition(":")
    port = free_port()

    async def scenario() -> None:
        async with FaultProxy(host, int(es_port or 9200)) as proxy:
            proc: Logpipe = logpipes(f"""
settings: {{batch_size: 200, batch_delay_ms: 10, pipeline_workers: 2, queue_max_events: 400}}
inputs:
  - {{type: http, id: web, port: {port}, retry_after: 1}}
outputs:
  - {{type: elasticsearch, id: es, hosts: ["{proxy.url}"], index: {es_index}, timeout: 5,
     retry_initial_interval: 0.5, retry_max_interval: 2}}
""")
            proc.start()
            await proc.wait_message("listening for HTTP", timeout=60)
            url = f"http://127.0.0.1:{port}/"

            async def sender(client: HttpSender) -> None:
                for _ in range(REQUESTS_EACH):
                    batch = ledger.records(EVENTS_PER_REQUEST)
                    await client.send(batch)
                    ledger.mark_sent(r.seq for r in batch)  # answered 2xx: it must be in ES

            with RssSampler(proc) as rss:
                async with HttpSender(url) as warmup:
                    await sender(warmup)  # healthy first
                proxy.set("blackhole")
                clients = [HttpSender(url) for _ in range(SENDERS)]
                for c in clients:
                    await c.__aenter__()
                try:
                    tasks = [asyncio.create_task(sender(c)) for c in clients]
                    started = time.monotonic()
                    while time.monotonic() - started < OUTAGE_SECONDS:  # the outage lasts this long
                        await asyncio.sleep(0.25)
                    refused_during = sum(c.statuses[429] + c.statuses[503] for c in clients)
                    held_during = len(ledger.sent)
                    proxy.set("pass")
                    await asyncio.wait_for(asyncio.gather(*tasks), 180)
                finally:
                    for c in clients:
                        await c.__aexit__(None, None, None)
                await until(lambda: at_least(es_count(es_url, es_index), len(ledger.sent)), timeout=60,
                            what="every answered event searchable")
                assert proc.terminate() == 0
        latencies = [x for c in clients for x in c.refusal_latency]
        balance = await ledger.check(es_url, es_index)
        balance.assert_balanced()
        assert balance.indexed == (SENDERS + 1) * REQUESTS_EACH * EVENTS_PER_REQUEST
        # Refusals came while Elasticsearch was still unreachable: they did not wait for it ...
        assert refused_during > 0
        # ... and nothing was answered 2xx during the outage beyond the warm-up.
        assert held_during == REQUESTS_EACH * EVENTS_PER_REQUEST
        assert set().union(*(c.retry_after for c in clients)) == {"1"}
        assert sum(c.refused_connections + c.dropped_connections for c in clients) == 0
        record_ledger(balance, peak_rss=rss.peak, refusals=len(latencies),
                      refusal_latency_median_ms=round(statistics.median(latencies) * 1000, 1),
                      refusal_latency_max_ms=round(max(latencies) * 1000, 1))

    asyncio.run(scenario())
