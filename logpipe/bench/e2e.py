"""Scenario "e2e": traffic in over HTTP and Kafka, through graphmemory, into Elasticsearch.

Half of a generated pool is POSTed to logpipe's HTTP input (NDJSON, 500
records a request, several senders), the other half produced to a Kafka topic
that logpipe's Kafka input consumes; ``logpipe run`` with all workers filters
it with the graphmemory filters and bulk-writes it to fresh indices on the
local Elasticsearch. The clock runs from the first record sent until every
document is searchable.

The yardstick is a bulk loader: the same documents (the pool already filtered,
serialized, with their index and id in the action lines) POSTed straight to
``_bulk`` with the same documents per request and the same number of requests
in flight as logpipe's outputs (workers x ``max_in_flight``), into indices
with the same settings, timed the same way.

Elasticsearch is pinned to one core and logpipe, the loader and the traffic
senders to the other (:mod:`.pinning`), so that the ratio says whether logpipe
keeps Elasticsearch as busy as a loader of finished bytes does, rather than
how much CPU each leaves to Elasticsearch. Each side's CPU seconds per 1,000
documents are reported, and Elasticsearch's. An unmeasured load of the same
documents runs first, so that neither side's round is Elasticsearch's warm-up.
"""
from __future__ import annotations

import asyncio
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from logpipe.bench.cluster import Cluster
from logpipe.bench.common import Options, Row, ScenarioResult, Target, children, free_port
from logpipe.bench.pinning import CorePinning, cpu_seconds, elasticsearch_pids, kafka_pids
from logpipe.bench.pipelines import variant
from logpipe.bench.pool import ensure_scrub_key, make_pool
from logpipe.bench.services import (Es, create_topic, delete_topics, es_reachable, kafka_reachable, produce,
                                   wait_group_settled)

CATEGORIES = ("access", "app", "security", "perf")
HTTP_BATCH = 500
#: Each sender waits for its answer, which logpipe gives once Elasticsearch has the
#: request's events: the senders bound the HTTP traffic outstanding. With 8, logpipe
#: had 3.9-5.8 bulk requests in flight of its 8, waiting for traffic; with 16, 6.1-6.3.
HTTP_SENDERS = 16
BULK_DOCS = 1000
MAX_IN_FLIGHT = 4


def filtered_documents(records: list[bytes]) -> list[tuple[str, bytes]]:
    """(category, serialized document) for each record, after the graphmemory filters."""
    from logpipe.bench.pipelines import load_variant
    from logpipe.core.codec import dumps, event_from_json
    from logpipe.core.pipeline import Pipeline

    spec = load_variant([], [{"type": "blackhole"}])

    async def go() -> list[tuple[str, bytes]]:
        p = Pipeline(spec)
        for f in p.filters:
            await f.start()
        out: list[tuple[str, bytes]] = []
        for i in range(0, len(records), 1000):
            events = [event_from_json(raw) for raw in records[i:i + 1000]]
            for stage in p.filter_stages:
                events = stage.run(events)
            out.extend((str(e.metadata.get("category", "app")), dumps(e.data)) for e in events)
        for f in p.filters:
            await f.stop()
        return out

    return asyncio.run(go())


def bulk_bodies(docs: list[tuple[str, bytes]], prefix: str) -> list[bytes]:
    import base64
    import hashlib

    bodies = []
    for i in range(0, len(docs), BULK_DOCS):
        lines = []
        for category, doc in docs[i:i + BULK_DOCS]:
            doc_id = base64.urlsafe_b64encode(hashlib.blake2b(doc, digest_size=20).digest()).rstrip(b"=")
            lines.append(orjson.dumps({"create": {"_index": f"{prefix}-{category}", "_id": doc_id.decode()}}))
            lines.append(doc)
        bodies.append(b"\n".join(lines) + b"\n")
    return bodies


async def bulk_load(es: Es, bodies: list[bytes], concurrency: int) -> float:
    """POST every body, ``concurrency`` at a time; returns the seconds spent in requests
    (summed over requests: divided by the elapsed time, the mean requests in flight)."""
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    busy = 0.0

    async def worker() -> None:
        nonlocal busy
        while not queue.empty():
            body = queue.get_nowait()
            started = time.perf_counter()
            status, result = await es.request("POST", "/_bulk?filter_path=errors", data=body, ndjson=True)
            busy += time.perf_counter() - started
            if status != 200 or result.get("errors"):
                raise RuntimeError(f"bulk request failed: {status} {result!r}")

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return busy


async def post_all(url: str, bodies: list[bytes], senders: int) -> int:
    """POST every body, ``senders`` at a time, as a client honouring Retry-After would;
    returns how many answers said to come back later (429/503)."""
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    headers = {"Content-Type": "application/x-ndjson"}
    refused = 0
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=300)) as session:
        async def sender() -> None:
            nonlocal refused
            while not queue.empty():
                body = queue.get_nowait()
                while True:
                    async with session.post(url, data=body, headers=headers) as resp:
                        await resp.read()
                        if resp.status in (429, 503):
                            refused += 1
                            await asyncio.sleep(float(resp.headers.get("Retry-After", "0.2")) or 0.2)
                            continue
                        if resp.status >= 300:
                            raise RuntimeError(f"HTTP input answered {resp.status}")
                        break
        await asyncio.gather(*(sender() for _ in range(senders)))
    return refused


def pipeline_text(http_port: int, bootstrap: str, topic: str, es_url: str, prefix: str) -> str:
    return variant(
        inputs=[{"type": "http", "id": "http", "host": "127.0.0.1", "port": http_port},
                {"type": "kafka", "id": "kafka", "bootstrap_servers": bootstrap, "topics": [topic],
                 "group_id": f"{topic}-group", "auto_offset_reset": "earliest", "codec": "json"}],
        outputs=[{"type": "elasticsearch", "id": "elasticsearch", "hosts": [es_url],
                  "index": prefix + "-%{[@metadata][category]}", "action": "create",
                  "id_strategy": "coordinates", "http_compression": False,
                  "batch_size": BULK_DOCS, "max_in_flight": MAX_IN_FLIGHT,
                  "dead_letter_queue": {"bootstrap_servers": bootstrap, "topic": f"{topic}-dlq"}}])


def prometheus_values(text: str, names: tuple[str, ...]) -> dict[str, float]:
    """Sum of each named series over its labels, from Prometheus text (``logpipe_`` prefix
    optional)."""
    out = {name: 0.0 for name in names}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        series, _, value = line.rpartition(" ")
        name = series.split("{", 1)[0].removeprefix("logpipe_")
        if name in out:
            out[name] += float(value)
    return out


_BULK_SERIES = ("output_bulk_size_sum", "output_bulk_size_count", "output_request_seconds_sum",
                "output_documents_total")


def _bulk_figures(cluster: Cluster, documents: int, timeout: float = 10.0) -> dict[str, float]:
    """The outputs' request counts from the supervisor's /metrics, once the workers' snapshots
    (published once a second) account for every document."""
    deadline = time.monotonic() + timeout
    while True:
        url = f"http://127.0.0.1:{cluster.status_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as resp:
            values = prometheus_values(resp.read().decode(), _BULK_SERIES)
        if values["output_documents_total"] >= documents or time.monotonic() > deadline:
            return values
        time.sleep(0.2)


async def shard_bulk_stats(es: Es, pattern: str) -> dict[str, float]:
    """Elasticsearch's own count of shard-level bulk operations for these indices, and the
    refreshes and merges they cost (a slower run refreshes more often per document)."""
    status, body = await es.request("GET", f"/{pattern}/_stats/bulk,refresh,merge"
                                           "?filter_path=_all.primaries")
    if status != 200 or not isinstance(body, dict):
        return {}
    stats = body.get("_all", {}).get("primaries", {})
    bulk, refresh, merges = (stats.get(k, {}) for k in ("bulk", "refresh", "merges"))
    return {"shard_bulk_operations": float(bulk.get("total_operations", 0)),
            "shard_bulk_millis": float(bulk.get("total_time_in_millis", 0)),
            "refreshes": float(refresh.get("total", 0)),
            "merge_millis": float(merges.get("total_time_in_millis", 0))}


def _kafka_cpu() -> float:
    return sum(cpu_seconds(pid) or 0.0 for pid in kafka_pids())


def _tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its children (the supervisor and its workers)."""
    return sum(cpu_seconds(p) or 0.0 for p in (pid, *children(pid)))


async def _logpipe_run(options: Options, records: list[bytes], run_id: str, tmp: Path,
                       pin: CorePinning) -> dict[str, Any]:
    workers = options.worker_count
    prefix = f"bench-{run_id}-lp"
    topic = f"bench-{run_id}"
    http_port = free_port()
    http_part, kafka_part = records[::2], records[1::2]
    http_bodies = [b"\n".join(http_part[i:i + HTTP_BATCH]) + b"\n" for i in range(0, len(http_part), HTTP_BATCH)]
    partitions = max(2, workers * 2)
    await create_topic(options.kafka_bootstrap, topic, partitions)
    async with Es(options.es_url) as es:
        await es.create_indices([f"{prefix}-{c}" for c in CATEGORIES])
        cluster = Cluster(pipeline_text(http_port, options.kafka_bootstrap, topic, options.es_url, prefix),
                          tmp, workers, name="e2e")
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, cluster.start)
        try:
            assert cluster.proc is not None
            await wait_group_settled(options.kafka_bootstrap, f"{topic}-group", workers)
            lp_cpu, es_cpu, own_cpu = _tree_cpu(cluster.proc.pid), pin.es_cpu_seconds(), time.process_time()
            kafka_cpu = _kafka_cpu()
            started = time.perf_counter()

            async def http_half() -> tuple[int, float]:
                # Every request is answered once Elasticsearch has its events: the HTTP
                # half's duration, to compare with the whole run's (is it starved?).
                refused = await post_all(f"http://127.0.0.1:{http_port}/", http_bodies, HTTP_SENDERS)
                return refused, time.perf_counter() - started

            (refused, http_seconds), _ = await asyncio.gather(
                http_half(), produce(options.kafka_bootstrap, topic, kafka_part, partitions))
            sent = time.perf_counter()
            found = await es.wait_count(f"{prefix}-*", len(records), timeout=600)
            seconds = time.perf_counter() - started
            lp_cpu = _tree_cpu(cluster.proc.pid) - lp_cpu
            es_cpu = pin.es_cpu_seconds() - es_cpu
            own_cpu = time.process_time() - own_cpu
            kafka_cpu = _kafka_cpu() - kafka_cpu
            bulk = await loop.run_in_executor(None, _bulk_figures, cluster, len(records))
            shards = await shard_bulk_stats(es, f"{prefix}-*")
        finally:
            await loop.run_in_executor(None, cluster.stop)
            await es.delete(f"{prefix}-*")
            await delete_topics(options.kafka_bootstrap, [topic, f"{topic}-dlq"])
    if found < len(records):
        raise RuntimeError(f"logpipe: {found} of {len(records)} documents reached Elasticsearch; "
                           f"log: {cluster.log_tail()}")
    requests = bulk["output_bulk_size_count"]
    return {"seconds": seconds, "send_seconds": sent - started, "documents": found,
            "cpu_seconds": lp_cpu, "sender_cpu_seconds": own_cpu, "es_cpu_seconds": es_cpu,
            "kafka_cpu_seconds": kafka_cpu, "bulk_requests": requests, "http_refused": refused,
            "http_seconds": http_seconds,
            "docs_per_request": bulk["output_bulk_size_sum"] / requests if requests else 0.0,
            "mean_in_flight": bulk["output_request_seconds_sum"] / seconds, **shards}


async def _loader_run(options: Options, docs: list[tuple[str, bytes]], run_id: str,
                      pin: CorePinning) -> dict[str, Any]:
    prefix = f"bench-{run_id}-ref"
    bodies = bulk_bodies(docs, prefix)
    concurrency = options.worker_count * MAX_IN_FLIGHT
    async with Es(options.es_url) as es:
        await es.check()
        await es.create_indices([f"{prefix}-{c}" for c in CATEGORIES])
        try:
            own_cpu, es_cpu, kafka_cpu = time.process_time(), pin.es_cpu_seconds(), _kafka_cpu()
            started = time.perf_counter()
            busy = await bulk_load(es, bodies, concurrency)
            acked = time.perf_counter()
            found = await es.wait_count(f"{prefix}-*", len(docs), timeout=600)
            seconds = time.perf_counter() - started
            own_cpu, es_cpu = time.process_time() - own_cpu, pin.es_cpu_seconds() - es_cpu
            kafka_cpu = _kafka_cpu() - kafka_cpu
            shards = await shard_bulk_stats(es, f"{prefix}-*")
        finally:
            await es.delete(f"{prefix}-*")
    if found < len(docs):
        raise RuntimeError(f"bulk loader: {found} of {len(docs)} documents searchable")
    return {"seconds": seconds, "ack_seconds": acked - started, "documents": found,
            "concurrency": concurrency, "cpu_seconds": own_cpu, "es_cpu_seconds": es_cpu,
            "kafka_cpu_seconds": kafka_cpu, "bulk_requests": len(bodies),
            "docs_per_request": len(docs) / len(bodies), "mean_in_flight": busy / seconds, **shards}


def _shape(r: dict[str, Any]) -> str:
    """How the documents reached Elasticsearch: request sizes, concurrency, its busyness."""
    text = (f"{r['bulk_requests']:.0f} bulk requests of {r['docs_per_request']:.0f} docs, "
            f"{r['mean_in_flight']:.1f} in flight on average; Elasticsearch busy "
            f"{r['es_cpu_seconds'] / r['seconds']:.2f} of a core, Kafka {r['kafka_cpu_seconds']:.1f} CPU-s")
    if r.get("shard_bulk_operations"):
        text += (f", {r['shard_bulk_operations']:.0f} shard bulk operations, {r['refreshes']:.0f} "
                 f"refreshes, {r['merge_millis'] / 1000:.1f} s merging")
    return text


class _NoPinning(CorePinning):
    def __enter__(self) -> CorePinning:
        self.reason = "pinning turned off (--no-pin-cores)"
        self.es_pids = elasticsearch_pids()  # still counted, not pinned
        return self


def unavailable(options: Options) -> str | None:
    return es_reachable(options.es_url) or kafka_reachable(options.kafka_bootstrap)


def run(options: Options) -> ScenarioResult:
    result = ScenarioResult("e2e", "HTTP + Kafka -> graphmemory -> Elasticsearch, documents/s")
    why = unavailable(options)
    if why:
        result.skipped = why
        return result
    ensure_scrub_key()
    count = 2_000 if options.quick else 100_000
    rounds = 1 if options.quick else options.repeat
    records = make_pool(count, seed=21)
    docs = filtered_documents(records)
    best_lp: dict[str, Any] | None = None
    best_ref: dict[str, Any] | None = None
    all_rounds: list[dict[str, Any]] = []
    pin = CorePinning() if options.pin_cores else None
    with tempfile.TemporaryDirectory() as d, (pin or _NoPinning()) as pinned:
        result.notes.append(pinned.describe())
        if not options.quick:
            # One unmeasured load first: Elasticsearch's JIT and caches warm up on its
            # first rounds, which favoured whichever side went second.
            warm = asyncio.run(_loader_run(options, docs, f"{uuid.uuid4().hex[:8]}-warm", pinned))
            result.notes.append(f"warm-up load (not measured): {warm['seconds']:.2f} s")
        for round_no in range(rounds):
            run_id = f"{uuid.uuid4().hex[:8]}"
            # Alternate who goes first: Elasticsearch warms up (and merges) as it works.
            if round_no % 2 == 0:
                ref = asyncio.run(_loader_run(options, docs, run_id, pinned))
                lp = asyncio.run(_logpipe_run(options, records, run_id, Path(d), pinned))
            else:
                lp = asyncio.run(_logpipe_run(options, records, run_id, Path(d), pinned))
                ref = asyncio.run(_loader_run(options, docs, run_id, pinned))
            all_rounds.append({"loader": ref, "logpipe": lp})
            result.notes.append(
                f"round {round_no + 1}: loader {ref['seconds']:.2f} s, logpipe {lp['seconds']:.2f} s "
                f"(HTTP half {lp['http_seconds']:.2f} s, {lp['http_refused']} HTTP 429s, "
                f"{lp['mean_in_flight']:.1f} bulk requests in flight, {lp['documents']} documents)")
            if best_ref is None or ref["seconds"] < best_ref["seconds"]:
                best_ref = ref
            if best_lp is None or lp["seconds"] < best_lp["seconds"]:
                best_lp = lp
    assert best_lp is not None and best_ref is not None
    ref_rate, lp_rate = count / best_ref["seconds"], count / best_lp["seconds"]
    workers = options.worker_count
    per_k = 1000 / count
    result.rows = [
        Row(f"bulk loader ({best_ref['concurrency']} requests in flight)", ref_rate, "docs/s",
            detail=f"acknowledged after {best_ref['ack_seconds']:.2f} s, searchable after "
                   f"{best_ref['seconds']:.2f} s; loader {best_ref['cpu_seconds'] * per_k:.3f} CPU-s "
                   f"per 1,000 docs, Elasticsearch {best_ref['es_cpu_seconds'] * per_k:.3f}; "
                   + _shape(best_ref)),
        Row(f"logpipe ({workers} workers, HTTP + Kafka in)", lp_rate, "docs/s", ratio=lp_rate / ref_rate,
            detail=f"sent in {best_lp['send_seconds']:.2f} s, searchable after {best_lp['seconds']:.2f} s; "
                   f"logpipe {best_lp['cpu_seconds'] * per_k:.3f} CPU-s per 1,000 docs, traffic senders "
                   f"{best_lp['sender_cpu_seconds'] * per_k:.3f}, Elasticsearch "
                   f"{best_lp['es_cpu_seconds'] * per_k:.3f}; " + _shape(best_lp)
                   + f"; {best_lp['http_refused']} HTTP requests answered 429 (queue full) and sent again; "
                   f"HTTP half done (every request answered) after {best_lp['http_seconds']:.2f} s"),
    ]
    result.targets = [Target("logpipe vs direct bulk loader" + (" (cores pinned)" if pin and pin.active else ""),
                             lp_rate / ref_rate, 0.9)]
    result.extra = {"pinned": bool(pin and pin.active), "cpu_per_1000_docs": {
                        "logpipe": best_lp["cpu_seconds"] * per_k, "traffic_senders": best_lp["sender_cpu_seconds"] * per_k,
                        "loader": best_ref["cpu_seconds"] * per_k,
                        "elasticsearch_with_logpipe": best_lp["es_cpu_seconds"] * per_k,
                        "elasticsearch_with_loader": best_ref["es_cpu_seconds"] * per_k},
                    "documents": count, "rounds": rounds, "logpipe": best_lp, "loader": best_ref,
                    "all_rounds": all_rounds,
                    "bulk_docs": BULK_DOCS, "http_senders": HTTP_SENDERS}
    return result
