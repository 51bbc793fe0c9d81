"""Fixtures of the reliability suite: the real servers, fresh indices and topics, the
ledger, child processes that are always reaped, and the closing table of counts.

Services come from ``scripts/services.sh up`` (or LOGPIPE_TEST_ES /
LOGPIPE_TEST_KAFKA); when one is not reachable the scenarios that need it are
skipped with the reason, or fail when ``CI=true`` (a missing server in CI is an
error, never a silent skip). Each scenario records its ledger (sent, indexed,
dead-lettered, duplicates, lost) and peak RSS with ``record_ledger``; the table
is printed at the end of the run and kept in pytest's cache under
``reliability/ledgers`` for the release notes.
"""
from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import urlparse

import pytest

from tests.integration.services import in_ci
from tests.reliability.ledger import Balance, Ledger, new_run_id
from tests.reliability.procs import Logpipe

ES_URL = os.environ.get("LOGPIPE_TEST_ES", "http://127.0.0.1:9200")
KAFKA = os.environ.get("LOGPIPE_TEST_KAFKA", "127.0.0.1:9092")
REPO = Path(__file__).resolve().parents[2]

_RESULTS: list[dict[str, Any]] = []


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def _unavailable(message: str) -> None:
    if in_ci():
        pytest.fail(f"{message} (CI=true, so this is an error rather than a skip)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def es_url() -> str:
    url = urlparse(ES_URL)
    if not _reachable(url.hostname or "127.0.0.1", url.port or 9200):
        _unavailable(f"Elasticsearch is not reachable at {ES_URL} (scripts/services.sh up)")
    return ES_URL


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    host, _, port = KAFKA.partition(":")
    if not _reachable(host, int(port or 9092)):
        _unavailable(f"Kafka is not reachable at {KAFKA} (scripts/services.sh up)")
    return KAFKA


def es_pid() -> int | None:
    """The pid of the Elasticsearch started by scripts/services.sh, if that is what runs here."""
    pid_file = REPO / ".services" / "es" / "es.pid"
    try:
        pid = int("".join(ch for ch in pid_file.read_text() if ch.isdigit()))
    except (FileNotFoundError, ValueError):
        return None
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            if b"elasticsearch" not in f.read().lower():
                return None
    except FileNotFoundError:
        return None
    return pid


@pytest.fixture
def run_id() -> str:
    return new_run_id("rel")


@pytest.fixture
def ledger(run_id: str) -> Ledger:
    return Ledger(run_id)


async def _es_request(url: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    import aiohttp
    import orjson

    async with aiohttp.ClientSession() as s:
        async with s.request(method, url.rstrip("/") + path, data=orjson.dumps(body) if body is not None else None,
                             headers={"content-type": "application/json"}) as r:
            raw = await r.read()
            return r.status, (orjson.loads(raw) if raw else None)


@pytest.fixture
def es_index(es_url: str, run_id: str) -> Iterator[str]:
    """A fresh index (one shard, no replica) deleted after the test."""
    name = f"reliability-{run_id}"
    status, body = asyncio.run(_es_request(es_url, "PUT", f"/{name}", {
        "settings": {"number_of_shards": 1, "number_of_replicas": 0},
        "mappings": {"properties": {"labels": {"properties": {"seq": {"type": "long"}}}}}}))
    assert status == 200, body
    yield name
    asyncio.run(_es_request(es_url, "DELETE", f"/{name}?ignore_unavailable=true"))


@pytest.fixture
def make_topic(kafka_bootstrap: str, run_id: str) -> Iterator[Callable[..., str]]:
    """``make_topic(partitions, suffix)``: a fresh topic, deleted after the test."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    made: list[str] = []

    async def create(name: str, partitions: int) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
        finally:
            await admin.close()

    def make(partitions: int = 1, suffix: str = "in") -> str:
        name = f"{run_id}-{suffix}"
        asyncio.run(create(name, partitions))
        made.append(name)
        return name

    yield make

    async def delete() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
        await admin.start()
        try:
            await admin.delete_topics(made)
        except Exception:  # noqa: BLE001 - cleanup only
            pass
        finally:
            await admin.close()

    if made:
        asyncio.run(delete())


@pytest.fixture
def logpipes(tmp_path: Path) -> Iterator[Callable[..., Logpipe]]:
    """Factory of ``logpipe run`` children; every one still alive is killed after the test."""
    made: list[Logpipe] = []

    def make(pipeline: str, **kwargs: Any) -> Logpipe:
        name = kwargs.pop("name", f"logpipe{len(made)}")
        proc = Logpipe(tmp_path / name, pipeline, name=name, **kwargs)
        made.append(proc)
        return proc

    yield make
    for proc in made:
        proc.cleanup()


@pytest.fixture
def record_ledger(request: pytest.FixtureRequest) -> Callable[..., None]:
    """Keep a scenario's counts for the closing table."""

    def record(balance: Balance, *, peak_rss: int = 0, **extra: Any) -> None:
        row = {"scenario": request.node.nodeid.split("::", 1)[-1], **balance.summary(),
               "peak_rss_mib": round(peak_rss / 2**20, 1), **extra}
        _RESULTS.append(row)

    return record


_COLUMNS = ("scenario", "sent", "indexed", "dead_lettered", "duplicates", "lost", "misplaced",
            "dlq_duplicates", "reasons", "peak_rss_mib")


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if not _RESULTS:
        return
    tr = terminalreporter
    tr.section("reliability ledgers")
    tr.write_line(f"{'scenario':72} {'sent':>7} {'indexed':>7} {'dlq':>5} {'dup':>4} {'lost':>4} {'rss MiB':>8}")
    for row in _RESULTS:
        rss = f"{row['peak_rss_mib']:.1f}" if row["peak_rss_mib"] else "in-proc"
        tr.write_line(f"{row['scenario'][:72]:72} {row['sent']:>7} {row['indexed']:>7} "
                      f"{row['dead_lettered']:>5} {row['duplicates']:>4} {row['lost']:>4} {rss:>8}")
        extra = {k: v for k, v in row.items() if k not in _COLUMNS}
        if extra:
            tr.write_line("    " + ", ".join(f"{k}={v}" for k, v in extra.items()))
    if getattr(config, "cache", None) is not None:
        config.cache.set("reliability/ledgers", _RESULTS)
