"""`logpipe run -f some.conf` end to end: a Logstash configuration reading the shared
Kafka and writing to the shared Elasticsearch, events routed by its conditionals."""
from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable

from aiokafka import AIOKafkaProducer

ROOT = Path(__file__).resolve().parents[2]

CONF = """# audit trail: Kafka in, Elasticsearch out
input {
  kafka {
    bootstrap_servers => "%(bootstrap)s"
    topics => [ "%(topic)s" ]
    group_id => "%(topic)s-group"
    auto_offset_reset => "earliest"
    tags => [ "audit" ]
  }
}
filter {
  dissect { mapping => { "message" => "%%{ts}|%%{user}|%%{action}|%%{result}" } }
  if "_dissectfailure" in [tags] {
    mutate { add_tag => [ "unparsed" ] }
  } else {
    date { match => [ "ts", "yyyy-MM-dd HH:mm:ss" ] timezone => "UTC" remove_field => [ "ts" ] }
    mutate { lowercase => [ "action" ] remove_field => [ "message" ] }
    if [result] != "ok" or [action] in [ "delete", "grant" ] { mutate { add_tag => [ "review" ] } }
  }
}
output {
  if "unparsed" in [tags] {
    elasticsearch { hosts => [ "%(es)s" ] index => "%(index)s-unparsed" }
  } else {
    elasticsearch { hosts => [ "%(es)s" ] index => "%(index)s-audit" }
  }
}
"""

ACTIONS = ["LOGIN", "DELETE", "UPDATE", "GRANT"]


def line(i: int) -> str:
    if i % 25 == 0:
        return f"garbage {i}"
    result = "denied" if i % 7 == 0 else "ok"
    return f"2026-11-26 16:{i // 60 % 60:02d}:{i % 60:02d}|user{i}|{ACTIONS[i % 4]}|{result}"


def es(url: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url + path, data=data, headers={"Content-Type": "application/json"},
                                 method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return {}
        raise


def wait_for(predicate: Callable[[], bool], timeout: float, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else "logpipe exited"
        time.sleep(0.2)
    raise AssertionError("condition not met before the deadline")


def test_run_f_conf_from_kafka_to_elasticsearch(kafka_bootstrap: str, es_url: str, unique_topic: Any,
                                                unique_index: str, tmp_path: Path) -> None:
    topic = unique_topic(partitions=2)
    count = 400

    async def produce() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
        await producer.start()
        try:
            for i in range(count):
                await producer.send(topic, line(i).encode())
            await producer.flush()
        finally:
            await producer.stop()

    asyncio.run(produce())
    conf = tmp_path / "audit.conf"
    conf.write_text(CONF % {"bootstrap": kafka_bootstrap, "topic": topic, "es": es_url,
                            "index": unique_index})
    proc = subprocess.Popen([sys.executable, "-m", "logpipe", "run", "-f", str(conf), "--workers", "1"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    unparsed = len([i for i in range(count) if i % 25 == 0])
    try:
        def indexed() -> bool:
            es(es_url, f"/{unique_index}-*/_refresh")
            got = es(es_url, f"/{unique_index}-*/_count")
            return got.get("count", 0) >= count
        wait_for(indexed, 90, proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    assert es(es_url, f"/{unique_index}-unparsed/_count")["count"] == unparsed
    assert es(es_url, f"/{unique_index}-audit/_count")["count"] == count - unparsed
    hits = es(es_url, f"/{unique_index}-audit/_search",
              {"size": 1, "query": {"term": {"user.keyword": "user7"}}})["hits"]["hits"]
    doc = hits[0]["_source"]
    assert doc["action"] == "grant" and doc["result"] == "denied"
    assert doc["tags"] == ["audit", "review"] and "message" not in doc
    assert doc["@timestamp"].startswith("2026-11-26T16:00:07")
    review = es(es_url, f"/{unique_index}-audit/_count", {"query": {"term": {"tags.keyword": "review"}}})
    expected = len([i for i in range(count) if i % 25 and (i % 7 == 0 or ACTIONS[i % 4] in ("DELETE", "GRANT"))])
    assert review["count"] == expected
