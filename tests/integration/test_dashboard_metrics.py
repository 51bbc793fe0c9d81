"""Every metric the Grafana dashboard and the Prometheus rules read is one that a running
logpipe exports: checked against the live /metrics of a real ``logpipe run`` that reads
Kafka, parses, samples, dedupes, and writes to Elasticsearch with a Kafka dead-letter
queue. The expressions themselves are parsed by a real PromQL parser."""
from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import httpx
import orjson
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.unit.deploy.promql_support import (
    dashboard_exprs,
    metric_names,
    recorded,
    rule_exprs,
)

ROOT = Path(__file__).resolve().parents[2]
EVENTS = 200


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pipeline(kafka: str, topic: str, dlq_topic: str, es_url: str, prefix: str) -> dict:
    return {
        "settings": {"batch_size": 50, "batch_delay_ms": 20},
        "inputs": [{"type": "kafka", "id": "kafka", "bootstrap_servers": kafka, "topics": [topic],
                    "group_id": f"{topic}-group", "auto_offset_reset": "earliest", "codec": "json"}],
        "filters": [
            {"type": "grok", "id": "parse", "match": {"message": "%{IP:[source][ip]} %{WORD:[http][request][method]} "
                                                                 "%{INT:[http][response][status_code]:int}"}},
            {"type": "sample", "id": "sample", "rate": 3, "key": "%{[http][request][method]}",
             "keep_if": ["[http][response][status_code] >= 500"]},
            {"type": "dedupe", "id": "dedupe", "fields": ["message"]},
        ],
        "outputs": [{"type": "elasticsearch", "id": "es", "hosts": [es_url], "index": f"{prefix}-%{{[dest]}}",
                     "dead_letter_queue": {"bootstrap_servers": kafka, "topic": dlq_topic}}],
    }


async def produce(kafka: str, topic: str) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=kafka)
    await producer.start()
    try:
        for i in range(EVENTS):
            if i % 50 == 0:
                doc = {"message": f"not an access line {i}", "dest": "ok"}
            elif i % 67 == 0:
                doc = {"message": f"10.0.0.{i % 250} GET 200", "dest": "BAD"}  # refused name: dead-lettered
            else:
                doc = {"message": f"10.0.0.{i % 250} {'GET' if i % 2 else 'POST'} {500 if i % 10 == 0 else 200}",
                       "dest": "ok", "n": i}
            await producer.send(topic, orjson.dumps(doc))
        await producer.flush()
    finally:
        await producer.stop()


def scrape(port: int) -> tuple[set[str], dict[tuple[str, str], float]]:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    names: set[str] = set()
    values: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            names.add(sample.name)
            key = (sample.name, ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items())))
            values[key] = sample.value
    return names, values


def total(values: dict[tuple[str, str], float], name: str, *parts: str) -> float:
    return sum(v for (n, labels), v in values.items() if n == name and all(p in labels for p in parts))


def until(what: str, check: Callable[[], bool], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_every_metric_of_the_dashboard_and_rules_is_exported(
        kafka_bootstrap: str, es_url: str, unique_topic: Callable[..., str], unique_index: str,
        tmp_path: Path) -> None:
    topic, dlq_topic = unique_topic(), unique_topic()
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(pipeline(kafka_bootstrap, topic, dlq_topic, es_url, unique_index)))
    asyncio.run(produce(kafka_bootstrap, topic))
    port = free_port()
    log = open(tmp_path / "logpipe.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "logpipe", "run", "--pipeline", str(path), "--workers", "1",
                             "--metrics-port", str(port)], cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
                            env={k: v for k, v in os.environ.items() if not k.startswith("LOGPIPE_")})
    try:
        def settled() -> bool:
            if proc.poll() is not None:
                raise AssertionError((tmp_path / "logpipe.log").read_text()[-3000:])
            try:
                names, values = scrape(port)
            except httpx.HTTPError:
                return False
            return (total(values, "logpipe_events_acked_total") >= EVENTS
                    and "logpipe_kafka_consumer_lag" in names and "logpipe_dlq_events_total" in names)

        until("every event acknowledged, with lag and dead letters published", settled)
        names, values = scrape(port)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        log.close()

    wanted: dict[str, set[str]] = {}
    for source, exprs in (("dashboard", dashboard_exprs()), ("rules", rule_exprs())):
        for title, expr in exprs:
            for name in metric_names(expr):
                if ":" not in name:  # recording rules are defined by the rules themselves
                    wanted.setdefault(name, set()).add(f"{source}: {title}")
                else:
                    assert name in recorded(), name
    missing = {n: sorted(w) for n, w in wanted.items() if n not in names}
    assert not missing, missing
    # The figures behind the new panels are live, not merely present.
    assert total(values, "logpipe_parse_failures_total", "plugin=parse") == EVENTS // 50
    kept = total(values, "logpipe_sample_events_total", "decision=kept")
    dropped = total(values, "logpipe_sample_events_total", "decision=dropped")
    assert kept > 0 and dropped > kept and total(values, "logpipe_sample_events_total", "decision=kept_always") > 0
    assert total(values, "logpipe_dlq_events_total", "reason=invalid_index_name") >= 1
