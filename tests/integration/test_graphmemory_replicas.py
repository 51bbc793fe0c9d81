"""Three replicas of the shipped GraphMemory pipeline share a Kafka topic; one is killed.

``pipelines/graphmemory.yaml`` is what runs in production, several replicas to a
consumer group. Its promise on a lost node is at-least-once reading made exact in
Elasticsearch: the Kafka input commits only delivered offsets, so the partitions
of a SIGKILLed replica are read again from its last commit by the others, and the
Elasticsearch output (``action: create``, ``id_strategy: coordinates``) turns the
redelivered records into 409 conflicts on ids that already exist. Those conflicts
are successes; were they counted as failures, every node loss would fill the
dead-letter queue with events that are in fact indexed.

The scenario runs the file itself (only endpoints and names come from the
environment, as in a deployment): three ``logpipe run`` processes, one with two
workers, so four members share six partitions. Records from logpipe's traffic
model, each with its own request id, arrive at a steady rate. Once every member
has committed, the victim is frozen at a moment when Elasticsearch holds records
it delivered but did not commit yet (so redelivery is certain, and is measured
while nothing moves), then SIGKILLed. Production goes on while the group notices
and the survivors take its partitions over. At the end every record must be in
Elasticsearch exactly once, under its topic:partition:offset id, nothing in the
dead-letter queue, the group's offsets at the end of every partition, and the
survivors must stop cleanly on SIGTERM.
"""
from __future__ import annotations

import asyncio
import copy
import secrets
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from tests.integration.streaming_support import committed_offsets, end_offsets, offsets_caught_up
from tests.reliability.kafka_tools import GroupView, SteadyProducer, coordinates_ids, describe_group
from tests.reliability.ledger import Ledger, new_run_id, read_topic, scan_index
from tests.reliability.procs import Logpipe, free_port
from tests.reliability.waits import until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

REPO = Path(__file__).resolve().parents[2]
PIPELINE = REPO / "pipelines" / "graphmemory.yaml"
COMPONENTS = ("graphmemory@settings", "graphmemory@mappings")
CATEGORIES = ("access", "app", "security", "perf")

PARTITIONS = 6
#: Workers per replica: four consumer-group members in all, three after the kill (the
#: victim is one of the single-worker replicas, so its partitions are known from its log).
WORKERS = (2, 1, 1)
RATE = 400.0
CHUNK = 40
#: Offsets every partition must have committed before the kill: every member has delivered.
COMMITTED_BEFORE_KILL = 150
#: Records produced once the survivors hold every partition, so they are seen taking new traffic.
AFTER_TAKEOVER = 2000
#: Upper bound on everything produced, in case the takeover never comes.
MAX_RECORDS = 12_000
ASSIGNED = "partitions assigned: "


# --- Elasticsearch -----------------------------------------------------------------------
async def install_templates(es_url: str, prefix: str) -> list[str]:
    """Install the shipped component templates under this run's names, and an index
    template for ``<prefix>.*`` composed of them, through ``logpipe setup``'s own planner
    (which adapts them to what this cluster supports). Returns its warnings.

    Renamed copies keep the shared ``graphmemory@*`` templates of the cluster untouched.
    """
    from elasticsearch import AsyncElasticsearch

    from logpipe.setup.client import Cluster
    from logpipe.setup.installer import Installer
    from logpipe.setup.resources import Resources, load

    shipped = load(REPO)
    names = {c: f"{prefix}@{c.split('@', 1)[1]}" for c in COMPONENTS}
    resources = Resources(
        components={names[c]: copy.deepcopy(shipped.components[c]) for c in COMPONENTS},
        index_templates={prefix: {
            "index_patterns": [f"{prefix}.*"],
            "composed_of": [names[c] for c in COMPONENTS],
            "priority": 500,
            "_meta": {"description": "graphmemory replicas test"},
        }})
    cluster = Cluster(AsyncElasticsearch(es_url))
    try:
        installer = Installer(cluster, resources)
        report = await installer.apply(await installer.plan())
    finally:
        await cluster.close()
    assert not report.errors, report.errors
    return report.warnings


async def es_json(es_url: str, method: str, path: str, body: Any = None) -> Any:
    async with aiohttp.ClientSession() as s, s.request(
            method, es_url.rstrip("/") + path, data=orjson.dumps(body) if body is not None else None,
            headers={"content-type": "application/json"}) as r:
        raw = await r.read()
        assert r.status == 200, f"{method} {path}: HTTP {r.status}: {raw[:500]!r}"
        return orjson.loads(raw)


async def count_ids(es_url: str, pattern: str, ids: list[str]) -> int:
    """How many of ``ids`` are documents in the indices of ``pattern`` (after a refresh)."""
    if not ids:
        return 0
    await es_json(es_url, "POST", f"/{pattern}/_refresh?allow_no_indices=true")
    body = await es_json(es_url, "POST", f"/{pattern}/_count?allow_no_indices=true",
                         {"query": {"ids": {"values": ids}}})
    return int(body["count"])


async def indexing_stats(es_url: str, pattern: str) -> dict[str, int]:
    """Primary indexing counters over ``pattern``: writes, failures, version conflicts."""
    body = await es_json(es_url, "GET", f"/{pattern}/_stats/indexing")
    stats = body["_all"]["primaries"]["indexing"]
    return {k: int(stats.get(k, 0)) for k in
            ("index_total", "index_failed", "index_failed_due_to_version_conflict")}


# --- StatsD --------------------------------------------------------------------------------
class StatsdSink(asyncio.DatagramProtocol):
    """Stands in for the StatsD server the pipeline reports to; adds up the counters."""

    def __init__(self) -> None:
        self.counters: dict[str, float] = {}

    def datagram_received(self, data: bytes, addr: Any) -> None:
        for line in data.split(b"\n"):
            name, _, rest = line.partition(b":")
            value, _, kind = rest.partition(b"|")
            if kind.split(b"|")[0] == b"c":
                key = name.decode()
                self.counters[key] = self.counters.get(key, 0.0) + float(value)

    def total(self, prefix: str) -> int:
        return int(sum(v for k, v in self.counters.items() if k.startswith(prefix)))


# --- traffic -------------------------------------------------------------------------------
class ReplicaTraffic(SteadyProducer):
    """The records the replicas share: ``CHUNK`` at a time at ``RATE`` over every partition,
    ``MAX_RECORDS`` at the most."""

    def __init__(self, bootstrap: str, topic: str, ledger: Ledger) -> None:
        super().__init__(bootstrap, topic, PARTITIONS, ledger, rate=RATE, batch=CHUNK, limit=MAX_RECORDS)

    def coordinates(self, partitions: set[int], since: dict[int, int]) -> list[str]:
        """Ids of the records produced so far on ``partitions`` at or past ``since``."""
        return [f"{self.topic}:{p}:{o}" for p, o in list(self.where.values())
                if p in partitions and o >= since.get(p, 0)]


# --- the replicas -----------------------------------------------------------------------------
@dataclass
class Replicas:
    procs: list[Logpipe] = field(default_factory=list)

    def cleanup(self) -> None:
        for proc in self.procs:
            proc.cleanup()


@pytest.fixture
def replicas() -> Iterator[Replicas]:
    """The ``logpipe run`` children of the test; whatever is still alive is killed after it."""
    made = Replicas()
    yield made
    made.cleanup()


def last_assignment(proc: Logpipe, topic: str) -> set[int]:
    """The partitions a single-worker replica holds, from its latest assignment log line."""
    lines = [m for m in proc.messages() if m.startswith(ASSIGNED)]
    assert lines, f"{proc.name} never logged an assignment"
    names = [n.strip() for n in lines[-1][len(ASSIGNED):].split(",")]
    return {int(n.rsplit("-", 1)[1]) for n in names if n.rsplit("-", 1)[0] == topic}


def spilled(proc: Logpipe) -> list[Path]:
    """Dead-letter spill files with content in the replica's directory (Kafka was unreachable)."""
    return [p for p in proc.dir.rglob("*.jsonl") if p.stat().st_size > 0]


async def poll(what: str, predicate: Callable[[], Any], timeout: float, step: float = 0.2) -> Any:
    """Poll ``predicate`` (plain or async) until it is truthy, failing after ``timeout``."""
    return await until(predicate, timeout=timeout, what=what, step=step)


# --- the scenario ------------------------------------------------------------------------------
def test_three_graphmemory_replicas_absorb_a_sigkill_with_every_record_indexed_once(
        es_url: str, kafka_bootstrap: str, redis_url: str, redis_key: str, unique_topic: Any,
        unique_index: str, replicas: Replicas, tmp_path: Path) -> None:
    topic = unique_topic(PARTITIONS)
    dlq_topic = unique_topic(1)
    prefix = unique_index
    pattern = f"{prefix}.*"
    group = f"{topic}-group"
    ledger = Ledger(new_run_id("gmr"))
    figures: dict[str, Any] = {}

    async def scenario() -> None:
        started = time.monotonic()
        warnings = await install_templates(es_url, prefix)
        figures["setup_warnings"] = len(warnings)

        loop = asyncio.get_running_loop()
        statsd_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        statsd_sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        statsd_sock.bind(("127.0.0.1", 0))
        transport, statsd = await loop.create_datagram_endpoint(StatsdSink, sock=statsd_sock)
        try:
            await run(statsd_sock.getsockname()[1], statsd, started)
        finally:
            transport.close()

    async def run(statsd_port: int, statsd: StatsdSink, started: float) -> None:
        common = {
            "LOGPIPE_ES_HOSTS": es_url,
            "LOGPIPE_KAFKA_BOOTSTRAP": kafka_bootstrap,
            "LOGPIPE_KAFKA_TOPIC": topic,
            "LOGPIPE_KAFKA_GROUP": group,
            "LOGPIPE_INDEX_PREFIX": prefix,
            "LOGPIPE_DLQ_TOPIC": dlq_topic,
            "LOGPIPE_REDIS_URL": redis_url,
            "LOGPIPE_REDIS_KEY": redis_key,
            "LOGPIPE_SCRUB_KEY": secrets.token_hex(16),
            "LOGPIPE_STATSD_HOST": "127.0.0.1",
            "LOGPIPE_STATSD_PORT": str(statsd_port),
            "LOGPIPE_BIND": "127.0.0.1",
            "LOGPIPE_DEBUG": "",
            # Sampling off: every produced record must be accounted for as a document.
            "LOGPIPE_SAMPLE_RATE": "1",
        }
        for n, workers in enumerate(WORKERS):
            env = dict(common, LOGPIPE_BEATS_PORT=str(free_port()), LOGPIPE_HTTP_PORT=str(free_port()))
            replicas.procs.append(Logpipe(tmp_path / f"replica{n}", PIPELINE, name=f"replica{n}",
                                          workers=workers, metrics_port=free_port(), env=env))
        procs = replicas.procs
        for proc in procs:
            proc.start()
        for proc in procs:
            await proc.wait_message(ASSIGNED + topic, timeout=90)
        members = sum(WORKERS)
        await poll(f"group {group} stable with {members} members over {PARTITIONS} partitions",
                   lambda: _settled(kafka_bootstrap, group, topic, members), timeout=60)
        figures["startup_s"] = round(time.monotonic() - started, 1)

        producer = ReplicaTraffic(kafka_bootstrap, topic, ledger)
        producing = asyncio.create_task(producer.run())

        # Every member delivers and commits: each partition has committed offsets.
        await poll(f"every partition committed past {COMMITTED_BEFORE_KILL}",
                   lambda: _all_committed(kafka_bootstrap, group, COMMITTED_BEFORE_KILL), timeout=90)
        view = await describe_group(kafka_bootstrap, group, topic)
        assert view.settled(members, PARTITIONS) and all(view.members), (
            f"every member must hold (and so have committed) partitions: {view}")
        # The victim: of the single-worker replicas, the one holding the most partitions.
        held = {n: last_assignment(p, topic) for n, p in enumerate(procs) if WORKERS[n] == 1}
        victim_n = max(held, key=lambda n: len(held[n]))
        victim, victim_parts = procs[victim_n], held[victim_n]
        survivors = [p for n, p in enumerate(procs) if n != victim_n]
        assert frozenset(victim_parts) in view.members, (victim.name, victim_parts, view)

        # Kill the victim while Elasticsearch holds records it delivered past its last commit.
        # Frozen first, its commits cannot move while that backlog is measured.
        async def uncommitted_in_es() -> int:
            done = await committed_offsets(kafka_bootstrap, group)
            return await count_ids(es_url, pattern, producer.coordinates(victim_parts, done))

        while True:
            await poll("records delivered but not yet committed by the victim", uncommitted_in_es,
                       timeout=60, step=0.05)
            victim.freeze()
            frozen_at = time.monotonic()
            before = await committed_offsets(kafka_bootstrap, group)
            pending = await count_ids(es_url, pattern, producer.coordinates(victim_parts, before))
            at_kill = await committed_offsets(kafka_bootstrap, group)
            # The same offsets on both sides of the count: no commit sent just before the
            # freeze landed during it, so ``pending`` is exactly what will be read again.
            steady = all(before[p] == at_kill[p] for p in victim_parts)
            if pending and steady:
                break
            victim.thaw()  # a commit got in between; wait for the next backlog
        victim.kill()
        killed_at = time.monotonic()
        assert killed_at - frozen_at < 5, "the measurement must end long before the group notices"
        assert not producing.done(), "production must go on through the takeover"
        figures.update(victim=victim.name, produced_at_kill=producer.produced, pending_at_kill=pending,
                       victim_partitions=sorted(victim_parts), kill_at_s=round(killed_at - started, 1))

        # The survivors take the victim's partitions over and every partition moves on.
        survivor_members = members - WORKERS[victim_n]
        rebalanced: dict[str, float] = {}

        async def taken_over() -> bool:
            if "at" not in rebalanced:
                if not (await describe_group(kafka_bootstrap, group, topic)).settled(survivor_members,
                                                                                     PARTITIONS):
                    return False
                rebalanced["at"] = time.monotonic()
            now = await committed_offsets(kafka_bootstrap, group)
            return all(now.get(p, -1) > at_kill[p] for p in range(PARTITIONS))

        await poll(f"the {survivor_members} surviving members to hold and advance all partitions",
                   taken_over, timeout=90)
        took_over_at = time.monotonic()
        assert not producing.done(), "production must go on through the takeover"
        figures.update(rebalance_s=round(rebalanced["at"] - killed_at, 1),
                       takeover_s=round(took_over_at - killed_at, 1))
        for proc in survivors:
            assert proc.alive(), proc.log_text()[-3000:]

        # More traffic after the takeover, then the end of every partition must be committed.
        target = producer.produced + AFTER_TAKEOVER

        def produced_enough() -> bool:
            if producing.done():
                producing.result()  # raises what stopped the producer
                raise AssertionError(f"the producer stopped at {producer.produced} records "
                                     f"(cap {MAX_RECORDS}) before {target}")
            return producer.produced >= target

        await poll(f"{target} records produced", produced_enough, timeout=60)
        producer.stopping.set()
        await producing
        produced = producer.produced
        ends = await end_offsets(kafka_bootstrap, topic, PARTITIONS)
        assert sum(ends.values()) == produced, (ends, produced)
        await poll("the group's offsets at the end of every partition",
                   lambda: offsets_caught_up(kafka_bootstrap, group, ends), timeout=120)
        figures["drained_s"] = round(time.monotonic() - took_over_at, 1)

        # Elasticsearch: every record once, under its coordinates, carrying its own request id.
        ledger.mark_sent(producer.where)
        expected = coordinates_ids(topic, producer.where)
        ledger.expected_ids = expected
        docs, es_count = await scan_index(es_url, pattern)
        dead = await read_topic(kafka_bootstrap, dlq_topic, ledger)
        assert dead == [], (f"{len(dead)} records dead-lettered, reasons "
                            f"{dict(Counter(d.reason for d in dead))}, e.g. {dead[0].record}")
        balance = ledger.balance(docs, es_count, dead)
        balance.assert_balanced()
        ids = Counter(d.doc_id for d in docs)
        assert es_count == len(docs) == produced, (es_count, len(docs), produced)
        assert not [i for i, n in ids.items() if n > 1], "an id is in more than one category index"
        assert set(ids) == set(expected.values())
        per_index = Counter(d.index for d in docs)
        assert set(per_index) <= {f"{prefix}.{c}" for c in CATEGORIES}, per_index
        for proc in procs:
            assert not spilled(proc), f"{proc.name} spilled dead letters: {spilled(proc)}"

        # Redelivered records were refused as version conflicts: counted, never failures.
        stats = await indexing_stats(es_url, pattern)
        conflicts = stats["index_failed_due_to_version_conflict"]
        assert stats["index_total"] == produced, stats
        assert stats["index_failed"] == conflicts, f"failures other than version conflicts: {stats}"
        assert conflicts >= pending > 0, (conflicts, pending)

        # The survivors stop cleanly.
        for proc in survivors:
            assert proc.terminate() == 0, proc.log_text()[-3000:]

        # StatsD saw every event at least once (events handed over twice count twice).
        await poll(f"StatsD counters for {produced} events",
                   _at_least(lambda: statsd.total("graphmemory.events."), produced), timeout=15)
        handed = statsd.total("graphmemory.events.")
        figures.update(produced=produced, documents=len(docs),
                       per_category={k.rsplit(".", 1)[1]: v for k, v in sorted(per_index.items())},
                       es_conflicts=conflicts, handed_to_outputs_twice=handed - produced,
                       duration_s=round(time.monotonic() - started, 1))
        print(f"\ngraphmemory replicas: {figures}")

    asyncio.run(scenario())


async def _settled(bootstrap: str, group: str, topic: str, members: int) -> GroupView | None:
    view = await describe_group(bootstrap, group, topic)
    return view if view.settled(members, PARTITIONS) else None


async def _all_committed(bootstrap: str, group: str, at_least: int) -> bool:
    done = await committed_offsets(bootstrap, group)
    return len(done) == PARTITIONS and min(done.values()) >= at_least


def _at_least(value: Callable[[], int], target: int) -> Callable[[], bool]:
    return lambda: value() >= target
