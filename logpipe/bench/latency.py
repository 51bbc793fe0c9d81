"""Scenario "latency": HTTP input to Elasticsearch acknowledgement, at half the maximum rate.

The HTTP input answers a request only once every output has taken its events
(``response_on: ack``), so a request's round trip is the time from the input
to Elasticsearch's acknowledgement. The scenario first measures the highest
rate the pipeline sustains (senders POSTing as fast as answers come back),
then sends small requests on a fixed schedule at half that rate and records,
for each, the time from when it was due to when its answer arrived (a request
held up by a slow one before it still counts from its due time, so stalls are
not hidden). Figures: p50 and p99 of those latencies.
"""
from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from logpipe.bench.cluster import Cluster
from logpipe.bench.common import Options, Row, ScenarioResult, Target, free_port
from logpipe.bench.e2e import CATEGORIES, HTTP_BATCH, HTTP_SENDERS, MAX_IN_FLIGHT, post_all
from logpipe.bench.pipelines import variant
from logpipe.bench.pool import ensure_scrub_key, make_pool
from logpipe.bench.services import Es, es_reachable, kafka_reachable

REQUEST_RECORDS = 20


def pipeline_text(http_port: int, options: Options, prefix: str, dlq_topic: str | None) -> str:
    es: dict[str, Any] = {"type": "elasticsearch", "id": "elasticsearch", "hosts": [options.es_url],
                          "index": prefix + "-%{[@metadata][category]}", "action": "create",
                          "id_strategy": "coordinates", "http_compression": False,
                          "max_in_flight": MAX_IN_FLIGHT}
    if dlq_topic:
        es["dead_letter_queue"] = {"bootstrap_servers": options.kafka_bootstrap, "topic": dlq_topic}
    return variant(inputs=[{"type": "http", "id": "http", "host": "127.0.0.1", "port": http_port}],
                   outputs=[es])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    k = min(len(ordered) - 1, max(0, round(q / 100.0 * (len(ordered) - 1))))
    return ordered[k]


async def paced(url: str, bodies: list[bytes], per_second: float) -> tuple[list[float], int]:
    """Send ``bodies`` on a fixed schedule; latency of each from its due time, in ms."""
    latencies: list[float] = []
    refused = 0
    headers = {"Content-Type": "application/x-ndjson"}
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=120)) as session:
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.2

        async def one(i: int, body: bytes) -> None:
            nonlocal refused
            due = start + i / per_second
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            async with session.post(url, data=body, headers=headers) as resp:
                await resp.read()
                if resp.status != 200:
                    refused += 1
                    return
            latencies.append((loop.time() - due) * 1000.0)

        await asyncio.gather(*(one(i, b) for i, b in enumerate(bodies)))
    return latencies, refused


async def _run(options: Options, tmp: Path) -> dict[str, Any]:
    run_id = uuid.uuid4().hex[:8]
    prefix = f"bench-{run_id}-lat"
    dlq = f"bench-{run_id}-dlq" if kafka_reachable(options.kafka_bootstrap) is None else None
    http_port = free_port()
    max_count = 4_000 if options.quick else 60_000
    paced_seconds = 3.0 if options.quick else 30.0
    records = make_pool(max_count, seed=31)
    async with Es(options.es_url) as es:
        await es.check()
        await es.create_indices([f"{prefix}-{c}" for c in CATEGORIES])
        cluster = Cluster(pipeline_text(http_port, options, prefix, dlq), tmp, options.worker_count,
                          name="latency")
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, cluster.start)
        url = f"http://127.0.0.1:{http_port}/"
        try:
            bodies = [b"\n".join(records[i:i + HTTP_BATCH]) + b"\n" for i in range(0, len(records), HTTP_BATCH)]
            started = time.perf_counter()
            await post_all(url, bodies, HTTP_SENDERS)
            max_rate = len(records) / (time.perf_counter() - started)
            rate = max_rate / 2
            per_second = rate / REQUEST_RECORDS
            n_requests = max(10, int(per_second * paced_seconds))
            small = [b"\n".join(records[(i * REQUEST_RECORDS + j) % len(records)] for j in range(REQUEST_RECORDS))
                     + b"\n" for i in range(n_requests)]
            latencies, refused = await paced(url, small, per_second)
        finally:
            await loop.run_in_executor(None, cluster.stop)
            await es.delete(f"{prefix}-*")
            if dlq:
                from logpipe.bench.services import delete_topics
                await delete_topics(options.kafka_bootstrap, [dlq])
    return {"max_rate": max_rate, "rate": rate, "requests": n_requests, "refused": refused,
            "p50": percentile(latencies, 50), "p90": percentile(latencies, 90),
            "p99": percentile(latencies, 99), "max": max(latencies) if latencies else 0.0}


def run(options: Options) -> ScenarioResult:
    result = ScenarioResult("latency", "HTTP input -> Elasticsearch acknowledgement at half load")
    why = es_reachable(options.es_url)
    if why:
        result.skipped = why
        return result
    ensure_scrub_key()
    with tempfile.TemporaryDirectory() as d:
        got = asyncio.run(_run(options, Path(d)))
    result.rows = [
        Row("maximum rate (HTTP, 500 records a request)", got["max_rate"], "events/s"),
        Row(f"p50 at {got['rate']:,.0f} events/s ({REQUEST_RECORDS} a request)", got["p50"], "ms"),
        Row("p90", got["p90"], "ms"),
        Row("p99", got["p99"], "ms", detail=f"max {got['max']:.0f} ms, {got['requests']} requests, "
                                            f"{got['refused']} refused"),
    ]
    result.targets = [Target("p99 latency at half load", got["p99"], 250.0, "<", "ms")]
    result.extra = got
    return result
