"""The shipped GraphMemory pipeline, end to end, against real servers.

``pipelines/graphmemory.yaml`` is what operators run; this module runs exactly that
file with ``logpipe run --workers 2`` and feeds it GraphMemory traffic through all
four inputs at once: Beats (``logpipe generate`` and pylogbeat, a Lumberjack client
we did not write), HTTP, Kafka and Redis. A handful of events that Elasticsearch
must refuse are mixed in.

The run happens once per module (the ``outcome`` fixture): it records what it saw
while traffic flowed and what the servers hold afterwards. Each test then states
one promise of the product against that record, so a failure names the promise:

- every generated record is in exactly one category index exactly once, and the
  refused ones are in the dead-letter topic and nowhere else ("nothing accepted is
  dropped silently", "exactly once in Elasticsearch");
- numbers are numbers, public addresses are located, user agents and response
  times are classified, attacks and failed logins land in the security index;
- no e-mail address, card number or planted secret is anywhere in Elasticsearch or
  the dead-letter queue, read as raw JSON rather than through the pipeline's own
  idea of what a secret is;
- /metrics, /healthz, /readyz and ``logpipe top`` show live, cluster-wide figures,
  and StatsD receives a counter per event and timers in milliseconds;
- SIGTERM drains: exit status 0, every input acknowledged.

The generator is deterministic for a seed and run id, so the test rebuilds the
exact records each ``logpipe generate`` process sent and accounts for them one by
one. nginx lines carry ``<run>-<seq>`` as the request id and JSON app logs as
``trace.id``; uvicorn lines carry no id, so they are recognised by client address,
client port, method and status (checked to be unique within the run).
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pylogbeat import PyLogBeatClient

from logpipe.generate.traffic import Record, TrafficModel
from tests.integration import services
from tests.integration.es_support import COMPONENTS, REPO, Es, adapted_resources
from tests.integration.streaming_support import (
    committed_offsets,
    end_offsets,
    free_port,
)
from tests.reliability.kafka_tools import read_to_end
from tests.reliability.ledger import EsDoc, scan_index
from tests.reliability.waits import until

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]

PIPELINE = REPO / "pipelines" / "graphmemory.yaml"
CATEGORIES = ("access", "app", "security", "perf")
INPUTS = ("beats", "http", "kafka", "redis")
KAFKA_PARTITIONS = 6

#: Records per ``logpipe generate`` process, and how fast each sends: the rate keeps
#: traffic flowing for ~10 s, long enough to watch the live figures move.
GENERATED = {"beats": 600, "http": 700, "kafka": 700, "redis": 700}
RATE_PER_SECOND = 70
GENERATE_BATCH = 25
#: Records pylogbeat sends to the Beats input, in windows of this size.
PYLOGBEAT_RECORDS = 300
PYLOGBEAT_WINDOW = 50
#: Events Elasticsearch must refuse (a text status code in a JSON app log).
BAD_EVENTS = 7

DRAIN_TIMEOUT = 120.0

Metrics = dict[tuple[str, frozenset[tuple[str, str]]], float]
Key = tuple[Any, ...]


# --- what was sent ------------------------------------------------------------------------
@dataclass(frozen=True)
class Feed:
    """One stream of generated records into one input."""

    input: str
    sender: str  # "generate" or "pylogbeat"
    seed: int
    run_id: str
    count: int

    def records(self) -> list[Record]:
        """The very records the sender sent (same seed and run id, same sequence)."""
        return TrafficModel(seed=self.seed, run_id=self.run_id).take(self.count)


_UVICORN = re.compile(r'^\w+:\s+(?P<ip>\S+):(?P<port>\d+) - "(?P<method>\w+) \S+ HTTP/[\d.]+" (?P<status>\d+)')
_NGINX = re.compile(r'\[(?P<time>[^\]]+)\] "(?P<method>\w+) (?P<url>\S+) HTTP/[\d.]+" (?P<status>\d+) .* '
                    r'(?P<seconds>\d+\.\d+) (?P<id>\S+)$')
_ATTACK_MARKERS = ("%27", "%3Cscript", "..%2F", "/../")


def record_key(record: Record) -> Key:
    """How a generated record is recognised once it is a document."""
    if record.kind == "app":
        assert record.doc is not None
        return ("trace", record.doc["trace"]["id"])
    assert record.line is not None
    if record.kind == "nginx":
        m = _NGINX.search(record.line)
        assert m, record.line
        return ("request", m["id"])
    m = _UVICORN.match(record.line)
    assert m, record.line
    return ("uvicorn", m["ip"], int(m["port"]), m["method"], int(m["status"]))


def dig(doc: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(doc, dict):
            return None
        doc = doc.get(part)
    return doc


def doc_key(source: dict[str, Any]) -> Key:
    """The key of a document, read the same way :func:`record_key` writes it."""
    if dig(source, "http.request.id"):
        return ("request", dig(source, "http.request.id"))
    if dig(source, "trace.id"):
        return ("trace", dig(source, "trace.id"))
    if dig(source, "source.port") is not None:
        return ("uvicorn", dig(source, "source.ip"), dig(source, "source.port"),
                dig(source, "http.request.method"), dig(source, "http.response.status_code"))
    return ("unrecognised", str(source.get("message"))[:120])


def allowed_categories(record: Record) -> set[str]:
    """Where a record may be routed, from what the generator put in it."""
    if record.kind == "app":
        assert record.doc is not None
        if record.doc.get("db"):
            return {"perf"}
        if dig(record.doc, "event.action") == "login_failed":
            return {"security"}
        return {"app"}
    assert record.line is not None
    if any(marker in record.line for marker in _ATTACK_MARKERS):
        return {"security"}
    if "/api/auth/login" in record.line and re.search(r'HTTP/1\.1" 401 ', record.line):
        return {"security"}
    # Within its budget a request is an access event; over it, a performance one.
    return {"access", "perf"}


def bad_event(run: str, i: int) -> dict[str, Any]:
    """A JSON app log Elasticsearch refuses (text where the mapping says long), carrying
    an e-mail address, a card number and secrets that must not reach the DLQ either."""
    return {
        "@timestamp": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
        "service": {"name": "graphmemory-api"},
        "log": {"level": "error", "logger": "graphmemory_api.billing"},
        "message": f"refund for dlq.{i}.{run}@example.com failed, card 4111 1111 1111 1111",
        "http": {"response": {"status_code": "not-a-number"}},
        "labels": {"bad_id": f"{run}-bad-{i}"},
        "user": {"email": f"dlq.{i}.{run}@example.com"},
        "password": f"pw-{run}-{i}",
        "api_key": f"ak-{run}-{i}",
    }


# --- what must never be stored ------------------------------------------------------------
_EMAIL = re.compile(rb"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_CARD_CANDIDATE = re.compile(rb"(?<![0-9A-Za-z])(?:\d[ -]?){12,18}\d(?![0-9A-Za-z])")
#: Values the generator plants (logpipe/generate/traffic.py): the password field, the
#: authorization and cookie headers, query-string tokens, a JWT and an AWS access key id.
_PLANTED_SECRETS = {
    "password value": re.compile(rb"hunter2"),
    "query token": re.compile(rb"tk_[0-9a-f]{16}"),
    "authorization header": re.compile(rb"abc\.def\.ghi"),
    "cookie": re.compile(rb"session=deadbeef"),
    "JWT": re.compile(rb"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
    "AWS key": re.compile(rb"AKIA[0-9A-Z]{16}"),
}
#: Field names the scrub filter must remove at any depth (compared without case, - and _).
_SECRET_NAMES = {"password", "passwd", "secret", "token", "apikey", "authorization", "cookie"}


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def card_numbers(raw: bytes) -> list[str]:
    """Luhn-valid runs of 13 to 19 digits (spaces or dashes between them allowed)."""
    found = []
    for m in _CARD_CANDIDATE.finditer(raw):
        digits = re.sub(r"\D", "", m.group().decode())
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            found.append(digits)
    return found


def leaks(raw: bytes, extra: dict[str, re.Pattern[bytes]] | None = None) -> list[str]:
    """Everything sensitive in serialized text, by kind."""
    out = [f"e-mail {m.group().decode()}" for m in _EMAIL.finditer(raw)]
    out += [f"card number {c}" for c in card_numbers(raw)]
    for name, pattern in {**_PLANTED_SECRETS, **(extra or {})}.items():
        out += [f"{name} {m.group().decode()}" for m in pattern.finditer(raw)]
    return out


def secret_fields(node: Any, path: str = "") -> list[str]:
    """Paths of fields named like secrets, at any depth. ``event.scrubbed`` is the scrub
    filter's own report (how many of each kind it masked) and holds no values."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}.{key}" if path else str(key)
            if here == "event.scrubbed":
                continue
            if str(key).lower().replace("-", "").replace("_", "") in _SECRET_NAMES:
                found.append(here)
            found += secret_fields(value, here)
    elif isinstance(node, list):
        for value in node:
            found += secret_fields(value, path)
    return found


def email_hash(key: str, address: str) -> str:
    """The scrub filter's keyed hash of an e-mail address (HMAC-SHA256, lower-cased)."""
    return hmac.new(key.encode(), address.lower().encode(), hashlib.sha256).hexdigest()


# --- the instance under test and what watches it ------------------------------------------
@dataclass
class Instance:
    """``logpipe run`` on the shipped pipeline file, with its environment and log."""

    env: dict[str, str]
    metrics_port: int
    log_file: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}"

    def start(self, workdir: Path) -> None:
        with self.log_file.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "logpipe", "run", "--pipeline", str(PIPELINE), "--workers", "2",
                 "--metrics-port", str(self.metrics_port), "--log-format", "json"],
                cwd=workdir, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_text(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def context(self) -> str:
        return f"\n--- logpipe log (tail) ---\n{self.log_text()[-6000:]}"

    def kill(self) -> None:
        """Last resort after a failure: the whole process group, so no worker outlives the test."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)

    async def get(self, path: str) -> tuple[int, bytes]:
        async with aiohttp.ClientSession() as s, \
                s.get(self.url + path, timeout=aiohttp.ClientTimeout(total=5)) as r:
            return r.status, await r.read()

    async def metrics(self) -> Metrics:
        """/metrics as ``{(sample name, labels): value}``."""
        status, body = await self.get("/metrics")
        assert status == 200, body[:500]
        out: Metrics = {}
        for family in text_string_to_metric_families(body.decode()):
            for sample in family.samples:
                out[(sample.name, frozenset(sample.labels.items()))] = sample.value
        return out


def plugin_figure(metrics: Metrics, name: str, plugin_id: str, kind: str) -> float:
    for (sample, labels), value in metrics.items():
        found = dict(labels)
        if sample == name and found.get("id") == plugin_id and found.get("kind") == kind:
            return value
    return 0.0


def total(metrics: Metrics, name: str) -> float:
    return sum(v for (sample, _), v in metrics.items() if sample == name)


def kafka_lag(metrics: Metrics, topic: str) -> dict[str, float]:
    """The cluster's consumer-lag gauge per partition of ``topic``."""
    return {dict(labels)["partition"]: value for (name, labels), value in metrics.items()
            if name == "logpipe_kafka_consumer_lag" and dict(labels).get("topic") == topic}


def live_figures(metrics: Metrics) -> dict[str, float]:
    """The counters that must move while traffic flows."""
    figures = {f"{i} out": plugin_figure(metrics, "logpipe_events_out_total", i, "input") for i in INPUTS}
    figures["elasticsearch out"] = plugin_figure(metrics, "logpipe_events_out_total", "elasticsearch", "output")
    figures["acked"] = total(metrics, "logpipe_events_acked_total")
    return figures


class StatsdListener:
    """Receives what the statsd output sends: counters summed by name, timer values by name."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port: int = self.sock.getsockname()[1]
        self.counters: Counter[str] = Counter()
        self.timers: dict[str, list[float]] = {}
        self.malformed: list[bytes] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="statsd-listener", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                packet = self.sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                for line in packet.split(b"\n"):
                    m = re.fullmatch(rb"([^:|]+):(-?[\d.e+-]+)\|(c|ms|g|s)(?:\|@[\d.]+)?", line)
                    if not m:
                        self.malformed.append(line)
                    elif m[3] == b"c":
                        self.counters[m[1].decode()] += int(float(m[2]))
                    elif m[3] == b"ms":
                        self.timers.setdefault(m[1].decode(), []).append(float(m[2]))

    def snapshot(self) -> tuple[Counter[str], dict[str, list[float]]]:
        with self._lock:
            return Counter(self.counters), {k: list(v) for k, v in self.timers.items()}

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


@dataclass
class DlqMessage:
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]] = field(default_factory=list)

    def record(self) -> dict[str, Any]:
        data = orjson.loads(self.value)
        assert isinstance(data, dict)
        return data


async def read_dlq(bootstrap: str, topic: str) -> list[DlqMessage]:
    """Every record of the dead-letter topic, raw, from the start of each partition to its end."""
    return [DlqMessage(m.key, m.value, list(m.headers or ()))
            for m in await read_to_end(bootstrap, topic, missing_ok=False)]


async def install_index_template(es: Es, es_url: str, prefix: str) -> None:
    """An index template for ``<prefix>.*`` built from the project's component templates,
    adapted to this cluster the way ``logpipe setup`` adapts them (lifecycle settings left
    out without ILM, ``scaled_float`` without mapper-extras), under names of our own."""
    resources = await adapted_resources(es_url)
    composed = []
    for name in COMPONENTS:
        ours = prefix + name[name.index("@"):]
        status, body = await es.request("PUT", f"/_component_template/{ours}", resources.components[name])
        assert status == 200, body
        composed.append(ours)
    status, body = await es.request("PUT", f"/_index_template/{prefix}", {
        "index_patterns": [f"{prefix}.*"], "composed_of": composed, "priority": 900,
        "_meta": {"description": "graphmemory pipeline integration test"}})
    assert status == 200, body


def send_with_pylogbeat(port: int, records: list[Record]) -> int:
    """Ship records the way Filebeat would (raw line in ``message``), through pylogbeat,
    whose ``send`` returns once the server acknowledged the whole window."""
    stamp = datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")
    sent = 0
    with PyLogBeatClient("127.0.0.1", port, timeout=60) as client:
        for start in range(0, len(records), PYLOGBEAT_WINDOW):
            window = []
            for offset, r in enumerate(records[start:start + PYLOGBEAT_WINDOW], start):
                path = "/var/log/nginx/access.log" if r.kind == "nginx" else "/var/log/containers/app.log"
                window.append({"@timestamp": stamp, "message": r.as_text(),
                               "log": {"file": {"path": path}, "offset": offset * 512},
                               "host": {"name": "gm-node-7"}, "input": {"type": "filestream"},
                               "agent": {"type": "filebeat", "name": "gm-node-7", "version": "9.0.0"},
                               "ecs": {"version": "8.0.0"}})
            client.send(window)
            sent += len(window)
    return sent


async def run_cli(*argv: str, env: dict[str, str], timeout: float = 120) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "logpipe", *argv, env=env,
                                                stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    return int(proc.returncode or 0), out.decode(errors="replace"), err.decode(errors="replace")


def top_rows(output: str) -> dict[str, list[str]]:
    """The plugin rows of ``logpipe top``'s table: id -> [id, kind, type, in/s, out/s, in,
    out, failures, ms/event]."""
    rows: dict[str, list[str]] = {}
    for line in output.splitlines():
        cells = [c.strip() for c in line.split("│")]
        if len(cells) >= 11 and cells[2] in ("input", "filter", "output"):
            rows[cells[1]] = cells[1:-1]
    return rows


def figure(text: str) -> float:
    """A figure as ``logpipe top`` prints it: ``-``, ``12``, ``1.5k``, ``3.0M``..."""
    if text in ("-", ""):
        return 0.0
    scale = {"k": 1e3, "M": 1e6, "G": 1e9}.get(text[-1], 1.0)
    return float(text[:-1] if scale != 1.0 else text) * scale


# --- the run ------------------------------------------------------------------------------
@dataclass
class Outcome:
    """What one run of the pipeline sent, saw and left behind."""

    run: str
    prefix: str
    scrub_key: str
    feeds: list[Feed]
    records: list[Record]
    bad: list[dict[str, Any]]
    # while traffic flowed
    first: dict[str, float] = field(default_factory=dict)
    second: dict[str, float] = field(default_factory=dict)
    still_sending: list[str] = field(default_factory=list)
    top_output: str = ""
    health: dict[str, int] = field(default_factory=dict)
    # drained, before the stop
    final: Metrics = field(default_factory=dict)
    lag: dict[str, float] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    # after the stop
    exit_code: int | None = None
    log_text: str = ""
    redis_leftovers: dict[str, int] = field(default_factory=dict)
    committed: dict[int, int] = field(default_factory=dict)
    end_offsets: dict[int, int] = field(default_factory=dict)
    docs: list[EsDoc] = field(default_factory=list)
    sources: list[dict[str, Any]] = field(default_factory=list)
    es_count: int = -1
    field_types: dict[str, str] = field(default_factory=dict)
    dlq: list[DlqMessage] = field(default_factory=list)
    statsd_counters: Counter[str] = field(default_factory=Counter)
    statsd_timers: dict[str, list[float]] = field(default_factory=dict)
    statsd_malformed: list[bytes] = field(default_factory=list)

    @property
    def sent(self) -> Counter[str]:
        """Events sent per input, the refused ones included."""
        per_input: Counter[str] = Counter()
        for f in self.feeds:
            per_input[f.input] += f.count
        per_input["http"] += len(self.bad)
        return per_input

    @property
    def redelivered(self) -> int:
        """Kafka records read twice (a rebalance between read and commit): at-least-once
        allows it, and deterministic ids keep Elasticsearch exact."""
        return int(plugin_figure(self.final, "logpipe_events_out_total", "kafka", "input")) - self.sent["kafka"]

    def category(self, doc: EsDoc) -> str:
        return doc.index.rsplit(".", 1)[-1]


@dataclass
class Names:
    """Names of our own on the shared servers, removed afterwards."""

    prefix: str = field(default_factory=lambda: services.unique_name("idx", "graphmemory"))
    in_topic: str = field(default_factory=lambda: services.unique_name("topic", "graphmemory-in"))
    dlq_topic: str = field(default_factory=lambda: services.unique_name("topic", "graphmemory-dlq"))
    redis_key: str = field(default_factory=lambda: services.unique_name("key", "graphmemory").replace("-", ":", 2))

    @property
    def group(self) -> str:
        return f"{self.in_topic}-group"


async def run_pipeline(es_url: str, kafka_bootstrap: str, redis_url: str, names: Names,
                       workdir: Path) -> Outcome:
    """Run the shipped pipeline under traffic, watch it while it works, stop it, and read
    back everything it wrote. Only what must hold for the run to mean anything is asserted
    here (it started, the senders succeeded, it drained); the promises are the tests'."""
    started = time.monotonic()
    run = f"gm{uuid.uuid4().hex[:8]}"
    beats_port, http_port, metrics_port = free_port(), free_port(), free_port()
    kafka_host, _, kafka_port = kafka_bootstrap.rpartition(":")
    feeds = [
        Feed("beats", "generate", 101, f"{run}-beats", GENERATED["beats"]),
        Feed("beats", "pylogbeat", 102, f"{run}-pylb", PYLOGBEAT_RECORDS),
        Feed("http", "generate", 103, f"{run}-http", GENERATED["http"]),
        Feed("kafka", "generate", 104, f"{run}-kafka", GENERATED["kafka"]),
        Feed("redis", "generate", 105, f"{run}-redis", GENERATED["redis"]),
    ]
    targets = {
        "beats": f"beats://127.0.0.1:{beats_port}",
        "http": f"http://127.0.0.1:{http_port}/",
        "kafka": f"kafka://{kafka_host}:{kafka_port}/{names.in_topic}",
        "redis": f"{redis_url.split('?')[0]}?key={names.redis_key}",
    }
    per_feed = {f: f.records() for f in feeds}
    outcome = Outcome(run=run, prefix=names.prefix, scrub_key=uuid.uuid4().hex, feeds=feeds,
                      records=[r for records in per_feed.values() for r in records],
                      bad=[bad_event(run, i) for i in range(BAD_EVENTS)])
    statsd = StatsdListener()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGPIPE_")}
    env.update({
        "PYTHONUNBUFFERED": "1",
        "LOGPIPE_ES_HOSTS": es_url, "LOGPIPE_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "LOGPIPE_REDIS_URL": redis_url, "LOGPIPE_KAFKA_TOPIC": names.in_topic,
        "LOGPIPE_KAFKA_GROUP": names.group, "LOGPIPE_REDIS_KEY": names.redis_key,
        "LOGPIPE_DLQ_TOPIC": names.dlq_topic, "LOGPIPE_BEATS_PORT": str(beats_port),
        "LOGPIPE_HTTP_PORT": str(http_port), "LOGPIPE_SCRUB_KEY": outcome.scrub_key,
        "LOGPIPE_STATSD_HOST": "127.0.0.1", "LOGPIPE_STATSD_PORT": str(statsd.port),
        "LOGPIPE_INDEX_PREFIX": names.prefix,
        # Sampling off: this test accounts for every record it sent, one document each
        # (tests/integration/test_graphmemory_sampling.py covers sampling).
        "LOGPIPE_SAMPLE_RATE": "1",
    })
    instance = Instance(env, metrics_port, workdir / "logpipe.log")
    es = Es(es_url)
    generators: dict[Feed, asyncio.subprocess.Process] = {}
    try:
        await install_index_template(es, es_url, names.prefix)
        instance.start(workdir)

        async def ready() -> bool:
            if not instance.alive():
                raise AssertionError(f"logpipe exited during start-up{instance.context()}")
            try:
                return (await instance.get("/readyz"))[0] == 200
            except aiohttp.ClientError:
                return False

        await until(ready, timeout=60, what="logpipe /readyz to answer 200", step=0.2)
        outcome.health["healthz at start"] = (await instance.get("/healthz"))[0]

        # --- traffic through all four inputs at once ----------------------------------------
        for feed in feeds:
            if feed.sender == "generate":
                generators[feed] = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "logpipe", "generate", "--count", str(feed.count),
                    "--seed", str(feed.seed), "--run-id", feed.run_id, "--rate", str(RATE_PER_SECOND),
                    "--batch", str(GENERATE_BATCH), "--to", targets[feed.input], "--no-progress",
                    env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        (lumberjack,) = [f for f in feeds if f.sender == "pylogbeat"]
        pylogbeat = asyncio.create_task(asyncio.to_thread(send_with_pylogbeat, beats_port, per_feed[lumberjack]))

        # --- live figures while it flows -----------------------------------------------------
        async def counting() -> dict[str, float] | None:
            if not instance.alive():
                raise AssertionError(f"logpipe exited while traffic flowed{instance.context()}")
            now = live_figures(await instance.metrics())
            return now if all(v > 0 for v in now.values()) else None

        outcome.first = await until(counting, timeout=60,
                                    what="every input and the Elasticsearch output to count events")
        code, outcome.top_output, top_err = await run_cli(
            "top", "--url", instance.url, "--once", "--interval", "2", env=env)
        assert code == 0, f"logpipe top failed: {top_err}"

        async def moved() -> dict[str, float] | None:
            now = live_figures(await instance.metrics())
            return now if all(now[k] > outcome.first[k] for k in outcome.first) else None

        outcome.second = await until(moved, timeout=30, what="every live counter to increase")
        outcome.still_sending = [f.run_id for f, p in generators.items() if p.returncode is None]
        outcome.health["healthz in flight"] = (await instance.get("/healthz"))[0]
        outcome.health["readyz in flight"] = (await instance.get("/readyz"))[0]

        # --- events Elasticsearch refuses, in the middle of the traffic ---------------------
        async with aiohttp.ClientSession() as session:
            body = b"".join(orjson.dumps(b) + b"\n" for b in outcome.bad)
            async with session.post(targets["http"], data=body,
                                    headers={"Content-Type": "application/x-ndjson"}) as resp:
                assert resp.status < 300, f"HTTP input answered {resp.status}: {await resp.text()}"

        for feed, proc in generators.items():
            _, err = await asyncio.wait_for(proc.communicate(), 120)
            assert proc.returncode == 0, f"logpipe generate into {feed.input} failed: {err.decode()}"
            assert f"sent {feed.count} records" in err.decode(), err.decode()
        assert await asyncio.wait_for(pylogbeat, 120) == PYLOGBEAT_RECORDS

        # --- drained: every good event indexed, every refused one dead-lettered -------------
        async def drained() -> bool:
            if not instance.alive():
                raise AssertionError(f"logpipe exited while draining{instance.context()}")
            indexed = await es.count(f"{names.prefix}.*", missing_ok=True)
            dead_lettered = sum((await end_offsets(kafka_bootstrap, names.dlq_topic, 1)).values())
            return indexed >= len(outcome.records) and dead_lettered >= BAD_EVENTS

        await until(drained, timeout=DRAIN_TIMEOUT, step=0.5,
                    what=f"{len(outcome.records)} documents and {BAD_EVENTS} dead-letter records")

        async def settled() -> Metrics | None:
            # Workers report once a second: wait until the figures caught up with the drain.
            m = await instance.metrics()
            sent = outcome.sent
            inputs_done = all(plugin_figure(m, "logpipe_events_out_total", i, "input") >= sent[i]
                              for i in INPUTS)
            acked = total(m, "logpipe_events_acked_total") >= sum(sent.values())
            return m if inputs_done and acked and total(m, "logpipe_events_unacknowledged") == 0 else None

        outcome.final = await until(settled, timeout=30, what="the metrics to show every event acknowledged")

        async def lag_caught_up() -> dict[str, float] | None:
            # The lag gauge is refreshed with each offset commit: wait for one after the drain.
            lag = kafka_lag(await instance.metrics(), names.in_topic)
            return lag if len(lag) == KAFKA_PARTITIONS and not any(lag.values()) else None

        outcome.lag = await until(lag_caught_up, timeout=30,
                                  what=f"a consumer-lag gauge of 0 for each of {KAFKA_PARTITIONS} partitions")
        outcome.stats = orjson.loads((await instance.get("/stats"))[1])

        # --- graceful stop ------------------------------------------------------------------
        assert instance.proc is not None
        instance.proc.send_signal(signal.SIGTERM)
        try:
            outcome.exit_code = await asyncio.to_thread(instance.proc.wait, 90)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"logpipe did not stop within 90 s of SIGTERM{instance.context()}") from None
        outcome.log_text = instance.log_text()

        # --- what the servers hold ----------------------------------------------------------
        import redis

        client = redis.Redis.from_url(redis_url)
        try:
            outcome.redis_leftovers = {k.decode(): int(client.llen(k))
                                       for k in client.scan_iter(match=f"{names.redis_key}*")
                                       if client.type(k) == b"list"}
        finally:
            client.close()
        outcome.committed = await committed_offsets(kafka_bootstrap, names.group)
        outcome.end_offsets = await end_offsets(kafka_bootstrap, names.in_topic, KAFKA_PARTITIONS)
        outcome.docs, outcome.es_count = await scan_index(es_url, f"{names.prefix}.*", fields=["*"])
        outcome.sources = [orjson.loads(d.raw) for d in outcome.docs]
        status, mapping = await es.request(
            "GET", f"/{names.prefix}.access/_mapping/field/http.response.status_code,source.ip,"
                   "source.geo.location,user_agent.original")
        assert status == 200, mapping
        for index_fields in mapping.values():
            for name, spec in index_fields["mappings"].items():
                outcome.field_types[name] = next(iter(spec["mapping"].values()))["type"]
        outcome.dlq = await read_dlq(kafka_bootstrap, names.dlq_topic)

        expected = expected_statsd_counts(outcome)

        def statsd_complete() -> bool:
            counters, _ = statsd.snapshot()
            return all(counters[name] >= n for name, n in expected.items())

        await until(statsd_complete, timeout=15, what="the StatsD counters of every event")
        outcome.statsd_counters, outcome.statsd_timers = statsd.snapshot()
        outcome.statsd_malformed = list(statsd.malformed)
    finally:
        for proc in generators.values():
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        instance.kill()
        statsd.close()
        await es.close()
    summary = {
        "events per input": dict(outcome.sent), "kafka redelivered": outcome.redelivered,
        "documents per index": dict(Counter(outcome.category(d) for d in outcome.docs)),
        "dead-lettered": len(outcome.dlq), "acked per worker": [w["events_acked"] for w in outcome.stats["workers"]],
        "live": {"first": outcome.first, "second": outcome.second}, "seconds": round(time.monotonic() - started, 1),
    }
    print(f"\ngraphmemory pipeline run {run}: {orjson.dumps(summary).decode()}")
    return outcome


def expected_statsd_counts(outcome: Outcome) -> dict[str, int]:
    """One increment per event and category: the indexed documents, plus the refused events
    (the statsd output sees them too; they are app logs)."""
    per_index = Counter(outcome.category(d) for d in outcome.docs)
    counts = {f"graphmemory.events.{c}": per_index.get(c, 0) for c in CATEGORIES}
    counts["graphmemory.events.app"] += len(outcome.bad)
    return counts


@pytest.fixture(scope="module")
def outcome(es_url: str, kafka_bootstrap: str, redis_url: str,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outcome]:
    """One run of the shipped pipeline, shared by the tests of this module."""
    names = Names()
    services.run_sync(lambda: services.create_topic(kafka_bootstrap, names.in_topic, KAFKA_PARTITIONS))
    try:
        services.run_sync(lambda: services.create_topic(kafka_bootstrap, names.dlq_topic, 1))
        yield asyncio.run(run_pipeline(es_url, kafka_bootstrap, redis_url, names,
                                       tmp_path_factory.mktemp("graphmemory")))
    finally:
        for cleanup in (lambda: services.run_sync(lambda: services.delete_topics(
                            kafka_bootstrap, [names.in_topic, names.dlq_topic])),
                        lambda: services.delete_es_prefix(es_url, names.prefix),
                        lambda: services.delete_redis_prefix(redis_url, names.redis_key)):
            try:
                cleanup()
            except Exception as exc:  # noqa: BLE001 - never mask the tests' own result
                print(f"warning: clean-up failed: {exc}")


# --- the promises -------------------------------------------------------------------------
def test_the_traffic_carries_what_the_checks_look_for(outcome: Outcome) -> None:
    """The scans below prove nothing unless the sent traffic really held unique records,
    e-mail addresses, card numbers and every kind of planted secret."""
    keys = Counter(record_key(r) for r in outcome.records)
    assert not [k for k, n in keys.items() if n > 1], "generated records are not individually recognisable"
    sent = b"\n".join(r.as_text().encode() for r in outcome.records)
    assert _EMAIL.search(sent) and card_numbers(sent)
    assert all(p.search(sent) for p in _PLANTED_SECRETS.values())
    assert secret_fields([r.doc for r in outcome.records if r.doc is not None])
    assert {r.kind for r in outcome.records} == {"nginx", "uvicorn", "app"}


def test_every_event_is_indexed_exactly_once_in_one_category_index(outcome: Outcome) -> None:
    docs = outcome.docs
    assert outcome.es_count == len(docs) == len(outcome.records), (
        f"{outcome.es_count} counted, {len(docs)} scanned, {len(outcome.records)} sent and not refused")
    assert len({d.doc_id for d in docs}) == len(docs), "two documents share an _id"
    assert {outcome.category(d) for d in docs} == set(CATEGORIES)
    assert {d.index for d in docs} == {f"{outcome.prefix}.{c}" for c in CATEGORIES}
    expected = Counter(record_key(r) for r in outcome.records)
    found = Counter(doc_key(src) for src in outcome.sources)
    missing, extra = expected - found, found - expected
    assert not missing and not extra, (
        f"{sum(missing.values())} records not indexed (e.g. {list(missing)[:5]}), "
        f"{sum(extra.values())} documents unexpected or duplicated (e.g. {list(extra)[:5]})")
    bad_ids = {b["labels"]["bad_id"] for b in outcome.bad}
    assert not [s for s in outcome.sources if dig(s, "labels.bad_id") in bad_ids], "a refused event was indexed"


def test_documents_are_routed_enriched_and_classified(outcome: Outcome) -> None:
    by_key = {record_key(r): r for r in outcome.records}
    geo = GeoOracle()
    problems: list[str] = []
    for doc, src in zip(outcome.docs, outcome.sources):
        record = by_key.get(doc_key(src))
        if record is None:
            problems.append(f"{doc.index}/{doc.doc_id}: not a record that was sent")
            continue
        problems += check_document(outcome.category(doc), src, record, geo, outcome.scrub_key)
    assert not problems, f"{len(problems)} problems, e.g.:\n" + "\n".join(problems[:25])
    # The shipped mappings are what the documents went into.
    assert outcome.field_types == {"http.response.status_code": "long", "source.ip": "ip",
                                   "source.geo.location": "geo_point", "user_agent.original": "keyword"}
    # Enrichment happened at scale, not only where it was trivially absent.
    access = [s for d, s in zip(outcome.docs, outcome.sources) if outcome.category(d) == "access"]
    assert sum(1 for s in access if dig(s, "source.geo.country_iso_code")) > len(access) // 2
    assert sum(1 for s in access if dig(s, "user_agent.name")) > len(access) // 2
    assert {dig(s, "performance.class") for s in access} >= {"fast", "normal"}


def test_nothing_sensitive_reaches_elasticsearch(outcome: Outcome) -> None:
    problems = []
    for doc, src in zip(outcome.docs, outcome.sources):
        found = leaks(doc.raw) + [f"secret field {p}" for p in secret_fields(src)]
        problems += [f"{doc.index}/{doc.doc_id}: {leak}" for leak in found]
    assert not problems, f"{len(problems)} leaks, e.g.:\n" + "\n".join(problems[:25])
    assert any(dig(s, "event.scrubbed") for s in outcome.sources), "nothing was ever scrubbed"


def test_the_dlq_holds_exactly_the_refused_events_scrubbed(outcome: Outcome) -> None:
    ids = sorted(str(dig(m.record().get("event"), "labels.bad_id")) for m in outcome.dlq)
    assert ids == sorted(b["labels"]["bad_id"] for b in outcome.bad)
    planted = {"refused event's password": re.compile(re.escape(f"pw-{outcome.run}").encode()),
               "refused event's api key": re.compile(re.escape(f"ak-{outcome.run}").encode())}
    for m in outcome.dlq:
        record = m.record()
        raw = b"\n".join([m.value, m.key or b"", *(v for _, v in m.headers)])
        found = leaks(raw, planted) + [f"secret field {p}" for p in secret_fields(record)]
        assert not found, (found, record)
        assert record["index"] == f"{outcome.prefix}.app", record["index"]
        assert record["error"]["type"] in ("document_parsing_exception", "mapper_parsing_exception"), record
        assert "status_code" in record["error"]["reason"], record["error"]
        n = int(record["event"]["labels"]["bad_id"].rsplit("-", 1)[1])
        address = f"dlq.{n}.{outcome.run}@example.com"
        assert record["event"]["user"]["email"] == email_hash(outcome.scrub_key, address)


def test_live_figures_move_while_traffic_flows(outcome: Outcome) -> None:
    assert all(v > 0 for v in outcome.first.values()), outcome.first
    assert all(outcome.second[k] > v for k, v in outcome.first.items()), (outcome.first, outcome.second)
    assert outcome.still_sending, "the counters were compared after the traffic had stopped"
    assert outcome.health == {"healthz at start": 200, "healthz in flight": 200, "readyz in flight": 200}
    rows = top_rows(outcome.top_output)
    for plugin in (*INPUTS, "parse_access", "geoip", "classify", "scrub", "elasticsearch", "statsd"):
        assert plugin in rows, f"logpipe top does not show {plugin}:\n{outcome.top_output}"
    for plugin in INPUTS:
        assert figure(rows[plugin][6]) > 0, f"no events out of {plugin}:\n{outcome.top_output}"
    for plugin in ("scrub", "elasticsearch", "statsd"):
        assert figure(rows[plugin][5]) > 0 and figure(rows[plugin][6]) > 0, outcome.top_output
    assert figure(rows["elasticsearch"][4]) > 0, f"no live rate for Elasticsearch:\n{outcome.top_output}"
    assert "workers 2/2" in outcome.top_output and "  ready" in outcome.top_output, outcome.top_output


def test_cluster_figures_add_up_over_workers(outcome: Outcome) -> None:
    final, sent = outcome.final, outcome.sent
    for name in ("beats", "http", "redis"):
        assert plugin_figure(final, "logpipe_events_out_total", name, "input") == sent[name], name
    assert outcome.redelivered >= 0
    inputs = sum(plugin_figure(final, "logpipe_events_out_total", i, "input") for i in INPUTS)
    assert total(final, "logpipe_events_acked_total") == inputs
    assert total(final, "logpipe_events_failed_total") == 0
    es_in = plugin_figure(final, "logpipe_events_in_total", "elasticsearch", "output")
    assert es_in == plugin_figure(final, "logpipe_events_out_total", "elasticsearch", "output") == inputs
    workers = outcome.stats["workers"]
    # Kafka partitions and the Redis list are shared, so both workers did work.
    assert len(workers) == 2 and all(w["events_acked"] > 0 for w in workers), workers
    assert sum(w["events_acked"] for w in workers) == outcome.stats["totals"]["events_acked"] == inputs


def test_dead_lettered_events_are_counted_in_metrics(outcome: Outcome) -> None:
    """The LogpipeDeadLetterQueueGrowing alert reads this counter."""
    samples = {labels: value for (name, labels), value in outcome.final.items()
               if name == "logpipe_dlq_events_total" and value}
    assert sum(samples.values()) == len(outcome.bad), samples
    for labels in samples:
        assert dict(labels).get("id") == "elasticsearch", samples
        assert dict(labels).get("reason") in ("document_parsing_exception", "mapper_parsing_exception"), samples


def test_bulk_requests_and_consumer_lag_reach_metrics(outcome: Outcome) -> None:
    """Bulk sizes, request latency and documents by outcome from the Elasticsearch output;
    a lag gauge for every partition, owned by whichever worker holds it (merged by max)."""
    final = outcome.final
    es = frozenset({("id", "elasticsearch")})
    bulk_docs = final[("logpipe_output_bulk_size_sum", es)]
    requests = final[("logpipe_output_bulk_size_count", es)]
    assert requests > 0 and final[("logpipe_output_request_seconds_count", es)] == requests
    outcomes = {dict(labels)["result"]: value for (name, labels), value in final.items()
                if name == "logpipe_output_documents_total" and dict(labels).get("id") == "elasticsearch"}
    # Each document written once; a Kafka record read twice finds its id taken (409).
    assert outcomes.get("written", 0) == len(outcome.records), outcomes
    assert outcomes.get("already_written", 0) == outcome.redelivered, outcomes
    assert outcomes.get("rejected", 0) == len(outcome.bad), outcomes
    assert bulk_docs >= len(outcome.records) + len(outcome.bad)
    assert sorted(outcome.lag) == [str(p) for p in range(KAFKA_PARTITIONS)]


def test_statsd_gets_a_counter_per_event_and_timers_in_milliseconds(outcome: Outcome) -> None:
    assert not outcome.statsd_malformed, outcome.statsd_malformed[:5]
    expected = expected_statsd_counts(outcome)
    counted = {name: outcome.statsd_counters[name] for name in expected}
    extra = {name: counted[name] - n for name, n in expected.items()}
    # Exact, except for Kafka records delivered twice (each one counted once more).
    assert all(n >= 0 for n in extra.values()) and sum(extra.values()) == outcome.redelivered, (counted, expected)
    durations = Counter(round(s["event"]["duration"] / 1e6, 6) for s in outcome.sources
                        if isinstance(dig(s, "event.duration"), int))
    timers = Counter(round(v, 6) for v in outcome.statsd_timers.get("graphmemory.request_time", []))
    assert not durations - timers, f"timers missing or not in ms: {list((durations - timers).items())[:5]}"
    assert sum((timers - durations).values()) <= outcome.redelivered, list((timers - durations).items())[:5]


def test_sigterm_drains_and_every_input_acknowledges(outcome: Outcome) -> None:
    assert outcome.exit_code == 0, f"exit status {outcome.exit_code}\n{outcome.log_text[-4000:]}"
    assert re.search(r"cluster stopped: \d+ events acknowledged, 0 failed", outcome.log_text), \
        outcome.log_text[-4000:]
    assert not any(outcome.redis_leftovers.values()), f"unacknowledged Redis items: {outcome.redis_leftovers}"
    assert outcome.committed == outcome.end_offsets, "Kafka offsets not committed up to the end"
    assert sum(outcome.end_offsets.values()) == outcome.sent["kafka"]


# --- per-document checks ------------------------------------------------------------------
class GeoOracle:
    """The country the shipped GeoLite2 database gives an address, looked up independently."""

    def __init__(self) -> None:
        import maxminddb
        from _maxminddb_geolite2 import geolite2_database

        self._reader = maxminddb.open_database(str(geolite2_database()))
        self._memo: dict[str, str | None] = {}

    def country(self, ip: str) -> str | None:
        if ip not in self._memo:
            entry: Any = self._reader.get(ip) or {}
            self._memo[ip] = (entry.get("country") or {}).get("iso_code")
        return self._memo[ip]


_SECURITY_TAGS = {"sqli", "xss", "path_traversal", "scanner", "login_failure", "brute_force"}
_PERF_CLASSES = {"fast", "normal", "slow", "critical"}
_ERROR_CLASSES = {"client_error", "server_error", "timeout", "dependency", "validation"}
#: The generator's exceptions and their classes. The others name no known exception and
#: carry no status; the classifier leaves such failures without a class (see
#: logpipe/filters/classify/errors.py), and a server error would be a fair reading too.
_APP_ERROR_CLASSES = {
    "neo4j.exceptions.ServiceUnavailable": {"dependency"},
    "redis.exceptions.ConnectionError": {"dependency"},
    "asyncio.TimeoutError": {"timeout"},
    "pydantic.ValidationError": {"validation"},
}


def check_document(category: str, src: dict[str, Any], record: Record, geo: GeoOracle,
                   scrub_key: str) -> list[str]:
    """What is wrong with one document, given the record it came from."""
    key = doc_key(src)
    out: list[str] = []

    def fail(message: str) -> None:
        out.append(f"{key}: {message}")

    tags = set(src.get("tags") or [])
    allowed = allowed_categories(record)
    if category not in allowed:
        fail(f"routed to {category}, expected one of {sorted(allowed)}")
    # The pipeline's routing rules, checked against what the document says.
    breach = dig(src, "performance.slo_breach") is True or dig(src, "db.statement") is not None
    if (category == "security") != ("security" in tags):
        fail(f"in {category} with tags {sorted(tags)}")
    if category == "perf" and not breach:
        fail("in the perf index without an SLO breach or a query")
    if category in ("access", "app") and breach:
        fail(f"an SLO breach or a query routed to {category}")
    if category == "access" and "access" not in tags:
        fail("in the access index without the access tag")

    if category == "security":
        if not tags & _SECURITY_TAGS:
            fail(f"security event without a detection tag: {sorted(tags)}")
        severity = dig(src, "event.severity")
        if type(severity) is not int or severity <= 0:
            fail(f"security event with severity {severity!r}")
        if not dig(src, "event.category"):
            fail("security event without event.category")
        attack = any(m in (record.line or "") for m in _ATTACK_MARKERS)
        if attack and (not tags & {"sqli", "xss", "path_traversal"} or dig(src, "event.kind") != "alert"):
            fail(f"attack not classified: tags {sorted(tags)}, kind {dig(src, 'event.kind')}")

    if record.kind in ("nginx", "uvicorn"):
        status = dig(src, "http.response.status_code")
        error_class = dig(src, "error.category")
        if type(status) is not int:
            fail(f"http.response.status_code is {status!r}, not a number")
        elif status >= 400 and error_class not in _ERROR_CLASSES:
            fail(f"status {status} without an error class")
        elif status >= 500 and error_class == "client_error":
            fail(f"status {status} classified as a client error")
        elif status < 400 and error_class is not None:
            fail(f"status {status} classified as {error_class!r}")
        if dig(src, "event.dataset") != "graphmemory.access" or "access" not in tags:
            fail("access line not parsed as one")
        path, original = dig(src, "url.path"), dig(src, "url.original")
        if not isinstance(path, str) or not str(original).startswith(path):
            fail(f"url not split: {dig(src, 'url')}")
    if record.kind == "nginx":
        # The line as it arrived: the generator stamps lines with its own clock.
        m = _NGINX.search(str(src.get("message")))
        if m is None:
            fail(f"message is not the nginx line: {src.get('message')!r}")
            return out
        if dig(src, "performance.class") not in _PERF_CLASSES:
            fail(f"performance.class is {dig(src, 'performance.class')!r}")
        duration = dig(src, "event.duration")
        if type(duration) is not int or abs(duration - float(m["seconds"]) * 1e9) > 1:
            fail(f"event.duration {duration} for a request time of {m['seconds']} s")
        if not dig(src, "user_agent.device.type"):
            fail(f"no device type for {dig(src, 'user_agent')}")
        if str(dig(src, "user_agent.original")).startswith("Mozilla/5.0 (") and not dig(src, "user_agent.name"):
            fail(f"browser or crawler not named: {dig(src, 'user_agent')}")
        when = datetime.strptime(m["time"], "%d/%b/%Y:%H:%M:%S %z")
        stamp = datetime.fromisoformat(str(src.get("@timestamp")))
        if stamp != when:
            fail(f"@timestamp {src.get('@timestamp')} is not the access time {m['time']}")
    if record.kind == "app":
        assert record.doc is not None
        for name in ("service.name", "log.level", "labels.seq"):
            if dig(src, name) != dig(record.doc, name):
                fail(f"{name} is {dig(src, name)!r}, sent {dig(record.doc, name)!r}")
        if record.doc.get("error"):
            if dig(src, "error.type") != record.doc["error"]["type"] or not dig(src, "error.stack_trace"):
                fail("error.type or error.stack_trace lost")
            want = _APP_ERROR_CLASSES.get(record.doc["error"]["type"], {None, "server_error"})
            if dig(src, "error.category") not in want:
                fail(f"{record.doc['error']['type']} classified {dig(src, 'error.category')!r}")
        if dig(record.doc, "event.action") == "login_failed":
            if "login_failure" not in tags or dig(src, "event.outcome") != "failure":
                fail(f"failed login not detected: tags {sorted(tags)}")
            if dig(src, "user.email") != email_hash(scrub_key, record.doc["user"]["email"]):
                fail(f"user.email is {dig(src, 'user.email')!r}, not the keyed hash of the address")

    ip = dig(src, "source.ip")
    if ip is not None:
        address = ipaddress.ip_address(ip)
        country = geo.country(ip) if address.is_global else None
        if not address.is_global and dig(src, "source.geo") is not None:
            fail(f"private or reserved address {ip} was located")
        if country is not None and dig(src, "source.geo.country_iso_code") != country:
            fail(f"{ip} located in {dig(src, 'source.geo.country_iso_code')!r}, the database says {country}")
        if country is not None and not isinstance(dig(src, "source.geo.location.lat"), float):
            fail(f"{ip} has no location")
    return out
