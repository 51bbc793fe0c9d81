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


HTTP_CONF = """input {
  http { port => %(port)d auth_token => "${INGEST_TOKEN}" type => "web" tags => [ "curl" ] }
}
filter {
  if [status] >= 500 { mutate { add_tag => [ "server_error" ] } }
  else if [status] == 404 { drop { } }
}
output {
  if "server_error" in [tags] { file { path => "%(dir)s/errors.jsonl" } }
  file { path => "%(dir)s/all.jsonl" }
}
"""


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_run_e_http_input_with_curl_to_file_outputs(tmp_path: Path) -> None:
    import os
    port = free_port()
    env = {**os.environ, "INGEST_TOKEN": "s3cret"}
    proc = subprocess.Popen([sys.executable, "-m", "logpipe", "run", "--workers", "1", "-e",
                             HTTP_CONF % {"port": port, "dir": tmp_path}],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        def healthy() -> bool:
            got = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", base + "/health"],
                                 capture_output=True, text=True, timeout=10)
            return got.stdout == "200"
        wait_for(healthy, 30, proc)
        body = "".join(json.dumps({"status": s, "n": i}) + "\n" for i, s in enumerate([200, 503, 404, 500, 201]))
        denied = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
                                 "-H", "Content-Type: application/x-ndjson", "--data-binary", body,
                                 base + "/"], capture_output=True, text=True, timeout=30)
        assert denied.stdout == "401"
        sent = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
                               "-H", "Authorization: Bearer s3cret",
                               "-H", "Content-Type: application/x-ndjson", "--data-binary", body,
                               base + "/"], capture_output=True, text=True, timeout=30)
        assert sent.stdout == "200"   # answered once the outputs have the events
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    all_docs = [json.loads(line) for line in (tmp_path / "all.jsonl").read_text().splitlines()]
    errors = [json.loads(line) for line in (tmp_path / "errors.jsonl").read_text().splitlines()]
    assert [d["n"] for d in all_docs] == [0, 1, 3, 4]
    assert [d["n"] for d in errors] == [1, 3]
    assert all(d["type"] == "web" and d["tags"][0] == "curl" for d in all_docs)
    assert errors[0]["tags"] == ["curl", "server_error"]
