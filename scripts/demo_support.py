"""Steps of scripts/demo.sh that are easier in Python: topics, readiness, the summary."""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import urllib.request
from typing import Any

import orjson

ES = os.environ.get("LOGPIPE_ES_HOSTS", "http://127.0.0.1:9200").split(",")[0]
KAFKA = os.environ.get("LOGPIPE_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
TOPIC = os.environ.get("LOGPIPE_KAFKA_TOPIC", "graphmemory-logs")
DLQ = os.environ.get("LOGPIPE_DLQ_TOPIC", "graphmemory-dlq")
STATS = "http://127.0.0.1:9600/stats"
INDICES = ["access", "app", "security", "perf"]


def http_json(url: str, body: Any = None, method: str | None = None) -> Any:
    data = orjson.dumps(body) if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return orjson.loads(resp.read() or b"null")


async def prepare() -> None:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [NewTopic(TOPIC, 6, 1), NewTopic(DLQ, 1, 1)]
        new = [t for t in wanted if t.name not in existing]
        if new:
            await admin.create_topics(new)
        print("topics:", ", ".join(f"{t.name} ({t.num_partitions} partitions)" for t in wanted))
    finally:
        await admin.close()


def stats() -> dict[str, Any] | None:
    try:
        return http_json(STATS)  # type: ignore[no-any-return]
    except OSError:
        return None


def wait_ready(timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen("http://127.0.0.1:9600/readyz", timeout=2) as resp:
                if resp.status == 200:
                    print("logpipe is ready")
                    return
        except OSError:
            pass
        time.sleep(0.5)
    sys.exit("logpipe did not become ready; see data/demo/logpipe.log")


def send_bad(count: int) -> None:
    docs = [{"service": {"name": "graphmemory-api"}, "message": f"bad status {i}",
             "http": {"response": {"status_code": "not-a-number"}}} for i in range(count)]
    body = b"\n".join(orjson.dumps(d) for d in docs) + b"\n"
    req = urllib.request.Request("http://127.0.0.1:8080/", data=body,
                                 headers={"Content-Type": "application/x-ndjson"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        print("HTTP input answered", resp.status)


def _acked(s: dict[str, Any]) -> int:
    total = s.get("totals") or s.get("pipeline") or {}
    for key in ("events_acked", "acked"):
        if key in total:
            return int(total[key])
    return sum(int(w.get("stats", {}).get("events_acked", 0)) for w in s.get("workers", []))


def wait_drained(expect: int, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    last = -1
    while time.monotonic() < deadline:
        s = stats()
        if s is not None:
            acked = _acked(s)
            if acked != last:
                print(f"  acknowledged {acked} / {expect}")
                last = acked
            if acked >= expect:
                return
        time.sleep(1)
    print("timed out waiting; continuing to the summary")


async def dlq_records() -> list[dict[str, Any]]:
    from aiokafka import AIOKafkaConsumer, TopicPartition
    consumer = AIOKafkaConsumer(bootstrap_servers=KAFKA, enable_auto_commit=False, group_id=None)
    await consumer.start()
    out: list[dict[str, Any]] = []
    try:
        parts = consumer.partitions_for_topic(DLQ) or set()
        tps = [TopicPartition(DLQ, p) for p in parts]
        if not tps:
            return out
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        while any((await consumer.position(tp)) < ends[tp] for tp in tps):
            batch = await consumer.getmany(timeout_ms=1000)
            for records in batch.values():
                out.extend(orjson.loads(r.value) for r in records)
    finally:
        await consumer.stop()
    return out


def summary(sent: int) -> None:
    http_json(f"{ES}/logs-graphmemory.*/_refresh", method="POST")
    print("\n== what reached Elasticsearch")
    total = 0
    for cat in INDICES:
        try:
            n = http_json(f"{ES}/logs-graphmemory.{cat}/_count")["count"]
        except OSError:
            n = 0
        total += n
        print(f"  logs-graphmemory.{cat:9} {n:8d} documents")
    records = asyncio.run(dlq_records())
    print(f"  dead-letter queue {DLQ}: {len(records)} records")
    reasons: dict[str, int] = {}
    for r in records:
        reason = str(r.get("error", {}).get("type") or r.get("reason_type") or "unknown")
        reasons[reason] = reasons.get(reason, 0) + 1
    for reason, n in sorted(reasons.items()):
        print(f"    {n:6d} x {reason}")
    print(f"  sent {sent}, indexed {total}, dead-lettered {len(records)}")
    hits = http_json(f"{ES}/logs-graphmemory.access/_search?size=1&q=_exists_:source.geo.country_iso_code")
    for hit in hits.get("hits", {}).get("hits", []):
        print("\n== one enriched access document")
        print(orjson.dumps(hit["_source"], option=orjson.OPT_INDENT_2).decode())
    leaks = http_json(f"{ES}/logs-graphmemory.*/_count", {"query": {"query_string": {
        "query": "*@example.com OR password:* OR \"4111 1111 1111 1111\""}}})
    print(f"\n== documents with an e-mail address, a password field or the test card number: {leaks['count']}")


def main() -> int:
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("prepare")
    sub.add_parser("wait-ready")
    b = sub.add_parser("send-bad")
    b.add_argument("--count", type=int, default=5)
    w = sub.add_parser("wait-drained")
    w.add_argument("--expect", type=int, required=True)
    s = sub.add_parser("summary")
    s.add_argument("--sent", type=int, required=True)
    args = p.parse_args()
    if args.cmd == "prepare":
        asyncio.run(prepare())
    elif args.cmd == "wait-ready":
        wait_ready()
    elif args.cmd == "send-bad":
        send_bad(args.count)
    elif args.cmd == "wait-drained":
        wait_drained(args.expect)
    else:
        summary(args.sent)
    return 0


if __name__ == "__main__":
    sys.exit(main())
