"""Scenario "startup": from ``logpipe run`` to all four graphmemory inputs taking events.

``logpipe run --pipeline graphmemory`` (all workers) starts against the local
Kafka, Redis and Elasticsearch, with fresh ports, topic, key and index prefix.
Before it starts, one record waits in the Kafka topic and one in the Redis
list. The clock runs from the moment the process is spawned until the Beats
and HTTP ports accept connections and both waiting records have been taken
by their inputs (``/stats``): then every input is listening or consuming.
Each worker's resident memory is read a second later (idle, after start-up;
the ``memory`` scenario measures it under load); the workers are those
``/stats`` lists, not the supervisor's other children (its fork server).

Logstash's own figures for comparison: a JVM start of 20-60 s and a 1 GB
default heap (``-Xms1g -Xmx1g``) per instance.
"""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from typing import Any

import orjson

from logpipe.bench.common import (Options, Row, ScenarioResult, Target, child_env, children, free_port,
                                  port_open, rss_mb, stop_process)
from logpipe.bench.pinning import cpu_seconds
from logpipe.bench.pool import ensure_scrub_key, make_pool
from logpipe.bench.services import Es, create_topic, delete_topics, es_reachable, kafka_reachable, produce

REDIS_URL = os.environ.get("LOGPIPE_BENCH_REDIS", "redis://127.0.0.1:6379/0")
TIMEOUT = 60.0


def _stats(port: int) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=1) as r:
            doc: dict[str, Any] = orjson.loads(r.read())
            return doc
    except OSError:
        return None


def _taken(stats: dict[str, Any], input_id: str) -> int:
    """Events an input has handed to the pipeline, summed over the workers."""
    return sum(int(p.get("events_out") or 0) for p in (stats.get("totals") or {}).get("plugins", [])
               if p.get("kind") == "input" and p.get("id") == input_id)


def measure_once(options: Options, probe: bytes) -> dict[str, Any]:
    import redis

    run_id = uuid.uuid4().hex[:8]
    topic, key, prefix = f"bench-start-{run_id}", f"bench:start:{run_id}", f"bench-start-{run_id}"
    beats, http, status, statsd = free_port(), free_port(), free_port(), free_port()
    workers = options.worker_count
    asyncio.run(create_topic(options.kafka_bootstrap, topic, max(2, workers)))
    asyncio.run(produce(options.kafka_bootstrap, topic, [probe], 1))
    client = redis.Redis.from_url(REDIS_URL)
    client.rpush(key, probe)
    env = child_env({
        "LOGPIPE_BEATS_PORT": str(beats), "LOGPIPE_HTTP_PORT": str(http),
        "LOGPIPE_KAFKA_BOOTSTRAP": options.kafka_bootstrap, "LOGPIPE_KAFKA_TOPIC": topic,
        "LOGPIPE_KAFKA_GROUP": f"{topic}-group", "LOGPIPE_DLQ_TOPIC": f"{topic}-dlq",
        "LOGPIPE_REDIS_URL": REDIS_URL, "LOGPIPE_REDIS_KEY": key, "LOGPIPE_ES_HOSTS": options.es_url,
        "LOGPIPE_INDEX_PREFIX": prefix, "LOGPIPE_STATSD_PORT": str(statsd), "LOGPIPE_BIND": "127.0.0.1"})
    marks: dict[str, float] = {}
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "logpipe", "run", "--pipeline", "graphmemory",
                             "--workers", str(workers), "--metrics-port", str(status),
                             "--log-level", "warning"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = started + TIMEOUT
        while len(marks) < 4:
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace")[-800:] if proc.stderr else ""
                raise RuntimeError(f"logpipe run exited with {proc.returncode}: {err}")
            if time.perf_counter() > deadline:
                raise RuntimeError(f"inputs not ready within {TIMEOUT:.0f} s (ready: {sorted(marks)})")
            now = time.perf_counter() - started
            for name, port in (("beats", beats), ("http", http)):
                if name not in marks and port_open("127.0.0.1", port, 0.05):
                    marks[name] = now
            if "kafka" not in marks or "redis" not in marks:
                stats = _stats(status)
                if stats is not None:
                    for name in ("kafka", "redis"):
                        if name not in marks and _taken(stats, name) >= 1:
                            marks[name] = now
            time.sleep(0.01)
        # CPU seconds the whole tree spent getting there: a figure that moves less with the
        # machine's load than the wall clock does.
        cpu = sum(cpu_seconds(pid) or 0.0 for pid in (proc.pid, *children(proc.pid)))
        time.sleep(1.0)
        final = _stats(status) or {}
        worker_pids = {int(w["pid"]) for w in final.get("workers", []) if w.get("pid")}
        rss = [m for m in (rss_mb(pid) for pid in sorted(worker_pids)) if m is not None]
        helpers = [m for m in (rss_mb(pid) for pid in children(proc.pid) if pid not in worker_pids)
                   if m is not None]
        supervisor = rss_mb(proc.pid)
    finally:
        stop_process(proc)
        client.delete(key, f"{key}:processing")
        client.close()

        async def cleanup() -> None:
            await delete_topics(options.kafka_bootstrap, [topic, f"{topic}-dlq"])
            async with Es(options.es_url) as es:
                await es.delete(f"{prefix}*")
        asyncio.run(cleanup())
    return {"ready": max(marks.values()), "marks": marks, "cpu_seconds": cpu, "worker_rss_mb": rss,
            "supervisor_rss_mb": supervisor, "fork_server_rss_mb": max(helpers, default=None)}


def run(options: Options) -> ScenarioResult:
    result = ScenarioResult("startup", "logpipe run -> all four graphmemory inputs taking events")
    why = es_reachable(options.es_url) or kafka_reachable(options.kafka_bootstrap)
    if why:
        result.skipped = why
        return result
    ensure_scrub_key()
    probe = make_pool(1)[0]
    rounds = 1 if options.quick else max(2, options.repeat)
    runs = [measure_once(options, probe) for _ in range(rounds)]
    best = min(runs, key=lambda r: r["ready"])
    worst_rss = max(max(r["worker_rss_mb"] or [0.0]) for r in runs)
    marks = best["marks"]
    result.rows = [
        Row("time to ready (all four inputs)", best["ready"], "s",
            detail=", ".join(f"{k} {v:.2f} s" for k, v in sorted(marks.items(), key=lambda kv: kv[1]))
                   + f"; {best['cpu_seconds']:.2f} CPU s (all processes)"),
        Row(f"RSS per worker, idle after start ({options.worker_count} workers)", worst_rss, "MB",
            detail=f"supervisor {best['supervisor_rss_mb'] or 0:.0f} MB"
                   + (f", fork server {best['fork_server_rss_mb']:.0f} MB"
                      if best.get("fork_server_rss_mb") else "")),
    ]
    result.targets = [
        Target("time from logpipe run to ready", best["ready"], 1.5, "<", "s"),
        Target("RSS per worker after start-up", worst_rss, 150.0, "<", "MB"),
    ]
    result.notes.append("Logstash for comparison (its documented defaults): a JVM heap of 1 GB "
                        "(-Xms1g -Xmx1g) and start-up in tens of seconds")
    result.extra = {"rounds": runs}
    return result
