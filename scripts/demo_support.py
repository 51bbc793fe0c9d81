"""Steps of scripts/demo.sh that are easier in Python: topics, readiness, waiting, the summary.

Every step reads and extends one state file (data/demo/run.json by default), so the
summary can report this run only: documents are counted as the difference between the
index counts taken before the traffic and after it, dead-lettered records as those
written since the run started.

Exit status: 0 success, 1 a step failed, 3 logpipe is not running any more.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

ES = os.environ.get("LOGPIPE_ES_HOSTS", "http://127.0.0.1:9200").split(",")[0].rstrip("/")
KAFKA = os.environ.get("LOGPIPE_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
TOPIC = os.environ.get("LOGPIPE_KAFKA_TOPIC", "graphmemory-logs")
DLQ = os.environ.get("LOGPIPE_DLQ_TOPIC", "graphmemory-dlq")
PREFIX = os.environ.get("LOGPIPE_INDEX_PREFIX", "logs-graphmemory")
GROUP = os.environ.get("LOGPIPE_KAFKA_GROUP", "logpipe-graphmemory")
REDIS_URL = os.environ.get("LOGPIPE_REDIS_URL", "redis://127.0.0.1:6379/0")
REDIS_KEY = os.environ.get("LOGPIPE_REDIS_KEY", "graphmemory:logs")
BIND = os.environ.get("LOGPIPE_BIND", "127.0.0.1")
BEATS_PORT = int(os.environ.get("LOGPIPE_BEATS_PORT", "5044"))
HTTP_PORT = int(os.environ.get("LOGPIPE_HTTP_PORT", "8080"))
METRICS_PORT = int(os.environ.get("DEMO_METRICS_PORT", "9600"))
STATUS = f"http://127.0.0.1:{METRICS_PORT}"
CATEGORIES = ["access", "app", "security", "perf"]
INPUTS = ["beats", "http", "kafka", "redis"]

EXIT_FAILED = 1
EXIT_LOGPIPE_GONE = 3


# --- small helpers ---------------------------------------------------------------------

class LogpipeGone(Exception):
    """The logpipe process the demo started is not running any more."""


def http_json(url: str, body: Any = None, method: str | None = None, timeout: float = 30) -> Any:
    data = orjson.dumps(body) if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return orjson.loads(resp.read() or b"null")


def alive(pid: int | None) -> bool:
    """Whether PID runs (a zombie, exited but not yet reaped by the shell, does not)."""
    if not pid:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def check_alive(pid: int | None) -> None:
    if not alive(pid):
        raise LogpipeGone(f"logpipe (pid {pid}) is not running any more")


def stats() -> dict[str, Any] | None:
    try:
        return http_json(f"{STATUS}/stats", timeout=5)
    except (OSError, ValueError):
        return None


def acked(s: dict[str, Any]) -> int:
    return int(s.get("totals", {}).get("events_acked", 0))


def sampled_out(s: dict[str, Any]) -> int:
    """Events the sample filters dropped (successful, fast requests: LOGPIPE_SAMPLE_RATE)."""
    total = 0.0
    for family in s.get("totals", {}).get("metrics", []):
        if family.get("name") == "logpipe_sample_events_total":
            total += sum(v for labels, v in family.get("samples", []) if labels.get("decision") == "dropped")
    return int(total)


def input_counts(s: dict[str, Any]) -> dict[str, int]:
    """Events each input handed to the pipeline (an input's count is its events_out)."""
    out: dict[str, int] = {}
    for p in s.get("totals", {}).get("plugins", []):
        if p.get("kind") == "input":
            out[str(p.get("id"))] = max(int(p.get("events_out", 0)), int(p.get("events_in", 0)))
    return out


class State:
    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self.data: dict[str, Any] = orjson.loads(self.path.read_bytes()) if self.path.exists() else {}

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def update(self, **values: Any) -> None:
        self.data.update(values)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_bytes(orjson.dumps(self.data, option=orjson.OPT_INDENT_2))
        tmp.replace(self.path)


def index_counts() -> dict[str, int]:
    """Documents per category index; 0 for one that does not exist yet."""
    try:
        http_json(f"{ES}/{PREFIX}.*/_refresh?ignore_unavailable=true", method="POST")
    except urllib.error.HTTPError as exc:
        if exc.code != 404:
            raise
    counts = {}
    for cat in CATEGORIES:
        try:
            counts[cat] = int(http_json(f"{ES}/{PREFIX}.{cat}/_count")["count"])
        except urllib.error.HTTPError as exc:
            if exc.code != 404:
                raise
            counts[cat] = 0
    return counts


# --- steps -----------------------------------------------------------------------------

def preflight() -> None:
    """The ports logpipe is about to listen on must be free."""
    taken = []
    for name, host, port in (("Beats input", BIND, BEATS_PORT), ("HTTP input", BIND, HTTP_PORT),
                             ("status endpoint", "127.0.0.1", METRICS_PORT)):
        with socket.socket() as s:
            s.settimeout(1)
            if s.connect_ex((host if host not in ("0.0.0.0", "") else "127.0.0.1", port)) == 0:
                taken.append(f"{name} port {port}")
    if taken:
        sys.exit(f"already in use: {', '.join(taken)}. Is another logpipe running? "
                 "Stop it first (or set LOGPIPE_BEATS_PORT / LOGPIPE_HTTP_PORT / DEMO_METRICS_PORT).")


async def _prepare_topics() -> None:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import TopicAlreadyExistsError

    admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [NewTopic(TOPIC, 6, 1), NewTopic(DLQ, 1, 1)]
        for t in wanted:
            if t.name in existing:
                print(f"topic {t.name}: exists")
                continue
            try:
                await admin.create_topics([t])
                print(f"topic {t.name}: created ({t.num_partitions} partitions)")
            except TopicAlreadyExistsError:
                print(f"topic {t.name}: exists")
    finally:
        await admin.close()


def prepare() -> None:
    asyncio.run(_prepare_topics())


async def _kafka_backlog() -> int:
    """Records in the input topic that the pipeline's consumer group has not committed yet."""
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA)
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(GROUP)
        (described,) = await admin.describe_topics([TOPIC])
    finally:
        await admin.close()
    tps = [TopicPartition(TOPIC, p["partition"]) for p in described.get("partitions", [])]
    if not tps:
        return 0
    cons = AIOKafkaConsumer(bootstrap_servers=KAFKA, enable_auto_commit=False)
    await cons.start()
    try:
        begin = await cons.beginning_offsets(tps)
        end = await cons.end_offsets(tps)
    finally:
        await cons.stop()
    backlog = 0
    for tp in tps:
        meta = committed.get(tp)
        start = meta.offset if meta is not None and meta.offset >= 0 else begin[tp]
        backlog += max(0, end[tp] - max(start, begin[tp]))
    return backlog


def _redis_backlog(workers: int) -> int:
    """Items waiting in the list, plus those a stopped worker left in its processing list."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        host = socket.gethostname()
        keys = [REDIS_KEY] + [f"{REDIS_KEY}:processing:{host}-{i}" for i in range(workers)]
        return sum(int(client.llen(k)) for k in keys)
    finally:
        client.close()


def baseline(state: State, run_id: str, workers: int) -> None:
    counts = index_counts()
    kafka = asyncio.run(_kafka_backlog())
    redis_left = _redis_backlog(workers)
    state.data.clear()
    state.update(run_id=run_id, started=time.time(), baseline=counts,
                 backlog={"kafka": kafka, "redis": redis_left})
    print("documents already in the category indices: "
          + ", ".join(f"{c} {n}" for c, n in counts.items()))
    if kafka or redis_left:
        print(f"left unprocessed by an earlier run (logpipe will process them too): "
              f"{kafka} records in the Kafka topic {TOPIC}, {redis_left} items in the Redis list "
              f"{REDIS_KEY}")


def wait_ready(state: State, pid: int | None, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        check_alive(pid)
        try:
            with urllib.request.urlopen(f"{STATUS}/readyz", timeout=2) as resp:
                if resp.status == 200:
                    s = stats() or {}
                    print(f"logpipe is ready: {s.get('workers_running', '?')} workers, "
                          f"status on {STATUS}")
                    state.update(ready=time.time())
                    return
        except OSError:
            pass
        time.sleep(0.3)
    sys.exit(f"logpipe did not become ready within {timeout:.0f}s")


def wait_acked(pid: int | None, at_least: int, timeout: float) -> None:
    """Until the pipeline has acknowledged AT_LEAST events (to show it mid-run)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        check_alive(pid)
        s = stats()
        if s is not None and acked(s) >= at_least:
            return
        time.sleep(0.2)
    print(f"(fewer than {at_least} events acknowledged after {timeout:.0f}s)")


def send_bad(state: State, count: int) -> None:
    run_id = state["run_id"]
    docs = [{"service": {"name": "graphmemory-api"}, "message": f"{run_id} bad status {i}",
             "trace": {"id": f"{run_id}-bad-{i}"},
             "http": {"response": {"status_code": "not-a-number"}}} for i in range(count)]
    body = b"\n".join(orjson.dumps(d) for d in docs) + b"\n"
    req = urllib.request.Request(f"http://127.0.0.1:{HTTP_PORT}/", data=body,
                                 headers={"Content-Type": "application/x-ndjson"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        print(f"{count} events with http.response.status_code \"not-a-number\" sent to the HTTP "
              f"input: it answered {resp.status}")
    state.update(bad=count)


def wait_drained(state: State, pid: int | None, expect: int, stall: float) -> None:
    """Until logpipe has acknowledged EXPECT events (plus the backlog an earlier run left)
    and holds nothing unacknowledged.

    Fails when logpipe dies, or when the count has not moved for STALL seconds."""
    backlog = sum(int(v) for v in (state.get("backlog") or {}).values())
    if backlog:
        print(f"  {expect} events from this run + {backlog} left by an earlier run")
    expect += backlog
    last = -1
    moved = time.monotonic()
    shown = 0.0
    while True:
        check_alive(pid)
        s = stats()
        now = time.monotonic()
        if s is not None:
            n = acked(s)
            unacked = int(s.get("totals", {}).get("unacknowledged", 0))
            if n != last:
                moved = now
                last = n
                if now - shown >= 1 or n >= expect:
                    print(f"  acknowledged {n:>7} / {expect}")
                    shown = now
            if n >= expect and unacked == 0:
                state.update(drained=time.time(), stats=s)
                return
        if now - moved > stall:
            state.update(stats=s)
            sys.exit(f"no progress for {stall:.0f}s: {last} of {expect} events acknowledged")
        time.sleep(0.25)


def stopped(state: State, seconds: float) -> None:
    state.update(stop_seconds=seconds)


def sample_acks(pid: int | None, out: Path, interval: float = 0.2) -> None:
    """In the background while logpipe runs: 'time acked' lines, for the rates in the summary."""
    with out.open("w") as f:
        while alive(pid):
            s = stats()
            if s is not None:
                f.write(f"{time.time():.3f} {acked(s)}\n")
                f.flush()
            time.sleep(interval)


def ack_timeline(path: Path) -> list[tuple[float, int]]:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return []
    out = []
    for line in lines:
        parts = line.split()
        if len(parts) == 2:
            out.append((float(parts[0]), int(parts[1])))
    return out


def peak_rate(samples: list[tuple[float, int]], window: float = 1.0) -> float | None:
    """The highest acknowledgement rate over any WINDOW seconds."""
    best = None
    j = 0
    for i, (t0, a0) in enumerate(samples):
        j = max(j, i + 1)
        while j < len(samples) and samples[j][0] - t0 < window:
            j += 1
        if j >= len(samples):
            break
        t1, a1 = samples[j]
        rate = (a1 - a0) / (t1 - t0)
        best = rate if best is None else max(best, rate)
    return best


# --- the summary -----------------------------------------------------------------------

_SENT = re.compile(r"sent (\d+) records in ([\d.]+)s")


def generator_results(data_dir: Path) -> dict[str, tuple[int, float]]:
    out = {}
    for name in INPUTS:
        f = data_dir / f"generate-{name}.log"
        m = _SENT.search(f.read_text()) if f.exists() else None
        if m:
            out[name] = (int(m.group(1)), float(m.group(2)))
    return out


async def _dlq_since(since: float) -> list[Any]:
    from logpipe.dlq.config import DeadLetterQueueConfig
    from logpipe.dlq.reader import Selection, read

    cfg = DeadLetterQueueConfig(bootstrap_servers=KAFKA, topic=DLQ)
    selection = Selection(since=datetime.fromtimestamp(since, UTC))
    return [e async for e in read(cfg, selection)]


def flatten(doc: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(doc, dict):
        if not doc:
            return [(prefix, "{}")]
        out = []
        for k, v in doc.items():
            out.extend(flatten(v, f"{prefix}.{k}" if prefix else k))
        return out
    return [(prefix, doc)]


def show_doc(title: str, hit: dict[str, Any], width: int = 110) -> None:
    print(f"\n== {title}")
    print(f"   _index {hit['_index']}  _id {hit['_id']}")
    rows = flatten(hit["_source"])
    key_width = min(36, max(len(k) for k, _ in rows))
    for key, value in rows:
        text = value if isinstance(value, str) else orjson.dumps(value).decode()
        text = text.replace("\n", "\\n")
        if len(text) > width:
            text = text[: width - 3] + "..."
        print(f"   {key:<{key_width}} {text}")


def sample(query: dict[str, Any], sort_on: str = "@timestamp") -> dict[str, Any] | None:
    body = {"size": 1, "query": query, "sort": [{sort_on: "desc"}]}
    hits = http_json(f"{ES}/{PREFIX}.*/_search", body)["hits"]["hits"]
    return hits[0] if hits else None


def summary(state: State, data_dir: Path) -> int:
    run_id = state["run_id"]
    started = float(state["started"])
    now = time.time()
    problems: list[str] = []

    print(f"\n================ summary of {run_id} ================")

    # What went in.
    gens = generator_results(data_dir)
    received = input_counts(state.get("stats") or {})
    bad = int(state.get("bad", 0))
    print("\n== events per input: sent by logpipe generate (sent/s: how fast the input, or the "
          "broker for Kafka and Redis, took them) and taken by logpipe (its /stats)")
    print(f"   {'input':<8} {'sent':>8} {'seconds':>8} {'sent/s':>8} {'taken':>8}")
    total_sent = 0
    for name in INPUTS:
        n, secs = gens.get(name, (0, 0.0))
        extra = bad if name == "http" else 0
        total_sent += n + extra
        label = f"{n + extra:>8}" if not extra else f"{n:>5}+{extra:<2}"
        rate = f"{n / secs:>8.0f}" if secs > 0 else f"{'-':>8}"
        print(f"   {name:<8} {label} {secs:>8.2f} {rate} {received.get(name, 0):>8}")
    print(f"   {'total':<8} {total_sent:>8} {'':>8} {'':>8} {sum(received.values()):>8}")
    if bad:
        print(f"   (http includes the {bad} events Elasticsearch refuses)")

    # What reached Elasticsearch.
    before = state.get("baseline", {})
    after = index_counts()
    print("\n== documents in Elasticsearch")
    print(f"   {'index':<28} {'this run':>9} {'in total':>9}")
    indexed = 0
    for cat in CATEGORIES:
        delta = after[cat] - int(before.get(cat, 0))
        indexed += delta
        print(f"   {PREFIX + '.' + cat:<28} {delta:>9} {after[cat]:>9}")
    print(f"   {'all four':<28} {indexed:>9} {sum(after.values()):>9}")

    # What Elasticsearch refused.
    entries = asyncio.run(_dlq_since(started))
    print(f"\n== dead-letter queue (Kafka topic {DLQ}): {len(entries)} records from this run")
    reasons: dict[tuple[str, str], list[Any]] = {}
    for e in entries:
        reasons.setdefault((e.reason_type, e.index), []).append(e)
    for (reason, index), group in sorted(reasons.items()):
        detail = str((group[0].record.get("error") or {}).get("reason", ""))
        detail = re.sub(r" in document with id '[^']*'", "", detail)
        print(f"   {len(group):>5} x {reason} (index {index or '?'})")
        if detail:
            print(f"           e.g. {detail[:160]}")
    since = datetime.fromtimestamp(started, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    print(f"   see them with: logpipe dlq inspect --pipeline graphmemory --since {since}")

    # The books must balance: every event logpipe took is indexed, dead-lettered, or
    # sampled out (counted; the kept documents carry the weight of the dropped ones).
    taken = acked(state.get("stats") or {})
    backlog = sum(int(v) for v in (state.get("backlog") or {}).values())
    thinned = sampled_out(state.get("stats") or {})
    delivered = indexed + len(entries) + thinned
    print("\n== accounting")
    print(f"   sent {total_sent}"
          + (f" + {backlog} left by an earlier run" if backlog else "")
          + f"; logpipe acknowledged {taken}; indexed {indexed} + dead-lettered {len(entries)}"
          + f" + sampled out {thinned} = {delivered}")
    if taken:
        print(f"   sampling indexed {1 - (indexed + len(entries)) / taken:.1%} fewer documents "
              "(LOGPIPE_SAMPLE_RATE=1 turns it off)")
    if delivered == taken and taken >= total_sent:
        print("   every event is in Elasticsearch, in the dead-letter queue, or counted as sampled out: ok")
    elif backlog and total_sent <= delivered <= taken:
        print(f"   ok: {taken - delivered} of the records left by the earlier run had been indexed "
              "before it stopped; their deterministic ids made the second delivery a no-op")
    else:
        print("   MISMATCH")
        problems.append(f"logpipe acknowledged {taken} events ({total_sent} sent by this run), "
                        f"but {indexed} were indexed and {len(entries)} dead-lettered")
    if len(entries) < bad:
        problems.append(f"{bad} refused events sent, only {len(entries)} in the dead-letter queue")

    # Rates: from the acknowledgement counts sampled every 0.2 s while logpipe ran.
    ready = float(state.get("ready", started))
    traffic_start = float(state.get("traffic_started", ready))
    timeline = ack_timeline(data_dir / "acks.tsv")
    final = acked(state.get("stats") or {}) or total_sent
    done = next((t for t, a in timeline if a >= final), float(state.get("drained", now)))
    gen_secs = max((secs for _, secs in gens.values()), default=0.0)
    e2e = done - traffic_start
    peak = peak_rate(timeline)
    print("\n== rates")
    rows = [("logpipe start-up until ready", f"{ready - float(state.get('launched', started)):6.1f} s"),
            ("the 4 generators (in parallel) sent for", f"{gen_secs:6.1f} s")]
    if e2e > 0:
        rows.append(("generators started -> last acknowledged",
                     f"{e2e:6.1f} s   {final / e2e:,.0f} events/s end to end (parse, enrich, index)"))
    if peak is not None:
        rows.append(("best second", f"{peak:6,.0f} events/s acknowledged"))
    if "stop_seconds" in state.data:
        rows.append(("SIGTERM -> logpipe exited 0", f"{float(state['stop_seconds']):6.1f} s"))
    for label, value in rows:
        print(f"   {label + ':':<42}{value}")

    # Sample documents of this run.
    access = sample({"bool": {"filter": [
        {"prefix": {"http.request.id": f"{run_id}-"}},
        {"exists": {"field": "source.geo.country_name"}},
        {"exists": {"field": "user_agent.name"}},
        {"exists": {"field": "performance.class"}},
        {"exists": {"field": "event.scrubbed"}}]}})
    if access is None:
        access = sample({"bool": {"filter": [
            {"prefix": {"http.request.id": f"{run_id}-"}},
            {"exists": {"field": "source.geo.country_name"}},
            {"exists": {"field": "user_agent.name"}}]}})
    if access:
        show_doc("an enriched nginx access line (GeoIP, user agent, performance class, "
                 "scrubbed query string)", access)
    else:
        problems.append("no enriched access document of this run found")
    # Preferably one whose message shows a masked card number, token or key.
    app = sample({"bool": {"filter": [
        {"prefix": {"trace.id": f"{run_id}-"}},
        {"exists": {"field": "event.scrubbed.field"}}],
        "should": [{"exists": {"field": f"event.scrubbed.{kind}"}}
                   for kind in ("card", "bearer", "aws_key")]}}, sort_on="_score")
    if app:
        show_doc("an application log with personal data (scrubbed: event.scrubbed counts what was "
                 "replaced; password, authorization and cookie fields are gone)", app)
    else:
        problems.append("no scrubbed application document of this run found")

    leaks = http_json(f"{ES}/{PREFIX}.*/_count", {"query": {"query_string": {"query": (
        'message:"example.com" OR message:"mail.test" OR url.original:*@* OR '
        'message:"4111 1111 1111 1111" OR message:AKIAIOSFODNN7EXAMPLE OR '
        '_exists_:password OR _exists_:http.request.headers.authorization OR '
        '_exists_:http.request.headers.cookie')}}})["count"]
    print(f"\n== documents still holding a raw e-mail address, card number, cloud key, password, "
          f"authorization or cookie: {leaks}")
    if leaks:
        problems.append(f"{leaks} documents hold personal data or secrets")

    print(f"\n== this run took {now - started:.0f} s from logpipe's start to this summary; "
          f"logpipe's log is {data_dir / 'logpipe.log'}")
    for p in problems:
        print(f"PROBLEM: {p}")
    return EXIT_FAILED if problems else 0


# --- command line ----------------------------------------------------------------------

def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--state", default="data/demo/run.json")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("preflight")
    sub.add_parser("prepare")
    b = sub.add_parser("baseline")
    b.add_argument("--run-id", required=True)
    b.add_argument("--workers", type=int, default=2)
    m = sub.add_parser("mark")
    m.add_argument("key")
    r = sub.add_parser("wait-ready")
    r.add_argument("--pid", type=int)
    r.add_argument("--timeout", type=float, default=120)
    a = sub.add_parser("wait-acked")
    a.add_argument("--pid", type=int)
    a.add_argument("--at-least", type=int, required=True)
    a.add_argument("--timeout", type=float, default=60)
    s = sub.add_parser("send-bad")
    s.add_argument("--count", type=int, default=5)
    w = sub.add_parser("wait-drained")
    w.add_argument("--pid", type=int)
    w.add_argument("--expect", type=int, required=True,
                   help="events this run sends; records an earlier run left behind are added")
    w.add_argument("--stall", type=float, default=120)
    st = sub.add_parser("stopped")
    st.add_argument("--seconds", type=float, required=True)
    sa = sub.add_parser("sample-acks")
    sa.add_argument("--pid", type=int)
    sa.add_argument("--out", default="data/demo/acks.tsv")
    sm = sub.add_parser("summary")
    sm.add_argument("--data-dir", default="data/demo")
    args = p.parse_args()
    state = State(args.state)
    try:
        if args.cmd == "preflight":
            preflight()
        elif args.cmd == "prepare":
            prepare()
        elif args.cmd == "baseline":
            baseline(state, args.run_id, args.workers)
        elif args.cmd == "mark":
            state.update(**{args.key: time.time()})
        elif args.cmd == "wait-ready":
            wait_ready(state, args.pid, args.timeout)
        elif args.cmd == "wait-acked":
            wait_acked(args.pid, args.at_least, args.timeout)
        elif args.cmd == "send-bad":
            send_bad(state, args.count)
        elif args.cmd == "wait-drained":
            wait_drained(state, args.pid, args.expect, args.stall)
        elif args.cmd == "stopped":
            stopped(state, args.seconds)
        elif args.cmd == "sample-acks":
            sample_acks(args.pid, Path(args.out))
        else:
            return summary(state, Path(args.data_dir))
    except LogpipeGone as exc:
        print(exc, file=sys.stderr)
        return EXIT_LOGPIPE_GONE
    except (OSError, ValueError) as exc:
        print(f"{args.cmd} failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return 0


if __name__ == "__main__":
    sys.exit(main())
