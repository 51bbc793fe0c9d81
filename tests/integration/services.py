"""Where the integration tests find Kafka, Elasticsearch and Redis, and small helpers.

Resolution order for each service (see ``conftest.py``):

1. ``LOGPIPE_TEST_ES`` / ``LOGPIPE_TEST_KAFKA`` / ``LOGPIPE_TEST_REDIS``, as printed by
   ``scripts/services.sh up`` (the native servers on 127.0.0.1);
2. otherwise, when a Docker engine answers, a container started through testcontainers
   for the whole test session;
3. otherwise the tests that need the service are skipped -- or fail when ``CI=true``.

Nothing here imports testcontainers, aiokafka, redis or httpx at module level, so the
unit tests never pay for them and a missing optional package only affects the tests
that need it.
"""
from __future__ import annotations

import asyncio
import functools
import os
import re
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

ENV_VARS = {
    "es": "LOGPIPE_TEST_ES",
    "kafka": "LOGPIPE_TEST_KAFKA",
    "redis": "LOGPIPE_TEST_REDIS",
}

# Images used only when the tests fall back to Docker; same versions as the native set-up
# (scripts/services.sh) and docker-compose.yml. Each can be overridden, e.g.
# LOGPIPE_TEST_ES_IMAGE=docker.elastic.co/elasticsearch/elasticsearch:9.1.0
IMAGES = {
    "es": os.environ.get("LOGPIPE_TEST_ES_IMAGE", "docker.elastic.co/elasticsearch/elasticsearch:9.5.3"),
    # testcontainers drives Confluent's Kafka image; Confluent Platform 8.0 ships Kafka 4.0.
    "kafka": os.environ.get("LOGPIPE_TEST_KAFKA_IMAGE", "confluentinc/cp-kafka:8.0.0"),
    "redis": os.environ.get("LOGPIPE_TEST_REDIS_IMAGE", "redis:7.4"),
}

HINT = "start the local servers with `eval \"$(scripts/services.sh up)\"` (see docs/services.md)"


class ServiceUnavailable(RuntimeError):
    """A service could not be reached or started."""


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def run_sync(factory: Callable[[], Awaitable[T]], timeout: float = 120.0) -> T:
    """Run ``factory()`` to completion on a private event loop in a helper thread.

    Works both from plain synchronous code and from inside a running event loop
    (an async test), where ``asyncio.run`` would refuse.
    """
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(_as_coroutine(factory))
        except BaseException as exc:  # handed to the caller below
            result["error"] = exc

    thread = threading.Thread(target=target, name="integration-helper", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError(f"helper did not finish within {timeout:.0f}s")
    if "error" in result:
        raise result["error"]
    return result["value"]


async def _as_coroutine(factory: Callable[[], Awaitable[T]]) -> T:
    return await factory()


def unique_name(kind: str, hint: str = "") -> str:
    """A short, lowercase, collision-free name usable as a Kafka topic, an
    Elasticsearch index prefix or a Redis key: ``lp-<kind>-<hint>-<random>``."""
    slug = re.sub(r"[^a-z0-9]+", "-", hint.lower()).strip("-")[:40].strip("-")
    parts = ["lp", kind] + ([slug] if slug else []) + [uuid.uuid4().hex[:10]]
    return "-".join(parts)


# --------------------------------------------------------------------------------------
# reachability checks


def check_es(url: str, timeout: float = 30.0) -> None:
    """The node answers as Elasticsearch and its cluster is at least yellow."""
    import httpx

    deadline = time.monotonic() + timeout
    last = "no answer"
    while True:
        try:
            resp = httpx.get(
                f"{url.rstrip('/')}/_cluster/health",
                params={"wait_for_status": "yellow", "timeout": "5s"},
                timeout=10.0,
            )
            product = resp.headers.get("x-elastic-product")
            if resp.status_code == 200 and product == "Elasticsearch":
                return
            last = f"HTTP {resp.status_code}, X-Elastic-Product={product!r}"
        except httpx.HTTPError as exc:
            last = f"{type(exc).__name__}: {exc}"
        if time.monotonic() >= deadline:
            raise ServiceUnavailable(f"Elasticsearch at {url} is not usable: {last}")
        time.sleep(1.0)


def check_kafka(bootstrap: str, timeout: float = 30.0) -> None:
    """The broker answers a metadata request."""
    from aiokafka.admin import AIOKafkaAdminClient

    async def probe() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=int(timeout * 1000))
        await admin.start()
        try:
            await admin.list_topics()
        finally:
            await admin.close()

    try:
        run_sync(probe, timeout=timeout + 10)
    except Exception as exc:
        raise ServiceUnavailable(f"Kafka at {bootstrap} is not usable: {type(exc).__name__}: {exc}") from exc


def check_redis(url: str, timeout: float = 10.0) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise ServiceUnavailable(f"Redis at {url} is not usable: {type(exc).__name__}: {exc}") from exc
    finally:
        client.close()


CHECKS: dict[str, Callable[[str], None]] = {"es": check_es, "kafka": check_kafka, "redis": check_redis}


# --------------------------------------------------------------------------------------
# Docker fallback


@functools.lru_cache(maxsize=1)
def docker_available() -> bool:
    """True when a Docker engine answers (a `docker` client alone is not enough)."""
    if shutil.which("docker") is None and not os.environ.get("DOCKER_HOST"):
        return False
    try:
        proc = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            timeout=15,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0 and bool(proc.stdout.strip())


def _import_module(name: str) -> Any:
    """testcontainers moved its modules under ``testcontainers.community`` in 4.15."""
    import importlib

    try:
        return importlib.import_module(f"testcontainers.community.{name}")
    except ImportError:
        return importlib.import_module(f"testcontainers.{name}")


class Containers:
    """Containers started on demand for one test session, stopped at its end."""

    def __init__(self) -> None:
        self._started: dict[str, Any] = {}
        self._urls: dict[str, str] = {}
        self._lock = threading.Lock()

    def url(self, service: str) -> str:
        with self._lock:
            if service not in self._urls:
                starter = getattr(self, f"_start_{service}")
                container, url = starter()
                self._started[service] = container
                self._urls[service] = url
            return self._urls[service]

    def stop_all(self) -> None:
        for container in self._started.values():
            try:
                container.stop()
            except Exception:  # best effort at session end
                pass
        self._started.clear()
        self._urls.clear()

    @staticmethod
    def _start_es() -> tuple[Any, str]:
        mod = _import_module("elasticsearch")
        container = mod.ElasticSearchContainer(IMAGES["es"], mem_limit="2g")
        for key, value in {
            "discovery.type": "single-node",
            "ES_JAVA_OPTS": "-Xms1g -Xmx1g",
            "action.destructive_requires_name": "false",
            "cluster.routing.allocation.disk.threshold_enabled": "false",
        }.items():
            container.with_env(key, value)
        container.start()
        url = f"http://{container.get_container_host_ip()}:{container.get_exposed_port(9200)}"
        check_es(url, timeout=120)
        return container, url

    @staticmethod
    def _start_kafka() -> tuple[Any, str]:
        mod = _import_module("kafka")
        container = mod.KafkaContainer(IMAGES["kafka"]).with_kraft()
        container.with_env("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "false")
        container.with_env("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0")
        container.start(timeout=120)
        bootstrap = container.get_bootstrap_server()
        check_kafka(bootstrap, timeout=60)
        return container, bootstrap

    @staticmethod
    def _start_redis() -> tuple[Any, str]:
        mod = _import_module("redis")
        container = mod.RedisContainer(IMAGES["redis"])
        container.start()
        url = f"redis://{container.get_container_host_ip()}:{container.get_exposed_port(6379)}/0"
        check_redis(url)
        return container, url


# --------------------------------------------------------------------------------------
# clean-up helpers used by the per-test fixtures


async def create_topic(
    bootstrap: str,
    name: str,
    partitions: int = 1,
    config: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> None:
    """Create a topic and wait until every partition has a leader."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=int(timeout * 1000))
    await admin.start()
    try:
        response = await admin.create_topics(
            [NewTopic(name, num_partitions=partitions, replication_factor=1, topic_configs=config or {})]
        )
        _raise_for_errors(response, "topic_errors", f"creating topic {name}")
        deadline = time.monotonic() + timeout
        while True:
            described = await admin.describe_topics([name])
            parts = described[0].get("partitions", []) if described else []
            if (
                described
                and described[0].get("error_code", 0) == 0
                and len(parts) == partitions
                and all(p.get("leader", -1) >= 0 for p in parts)
            ):
                return
            if time.monotonic() >= deadline:
                raise TimeoutError(f"topic {name} has no leader for every partition after {timeout:.0f}s")
            await asyncio.sleep(0.2)
    finally:
        await admin.close()


def _raise_for_errors(response: Any, field: str, what: str) -> None:
    """aiokafka's admin client returns the broker's per-topic error codes instead of
    raising; turn the first non-zero one into its exception."""
    from aiokafka.errors import for_code

    for entry in getattr(response, field, None) or []:
        code = entry[1]
        if code:
            message = entry[2] if len(entry) > 2 and isinstance(entry[2], str) else ""
            raise for_code(code)(f"{what}: {message}".rstrip(": "))


async def delete_topics(bootstrap: str, names: list[str]) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    if not names:
        return
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        doomed = [n for n in names if n in existing]
        if doomed:
            response = await admin.delete_topics(doomed)
            _raise_for_errors(response, "topic_error_codes", f"deleting topics {doomed}")
    finally:
        await admin.close()


def delete_es_prefix(url: str, prefix: str) -> None:
    """Remove what a test created under ``prefix``: data streams (where the node has
    the API), indices with their aliases, index and component templates."""
    import httpx

    base = url.rstrip("/")
    with httpx.Client(timeout=60.0) as client:
        client.delete(f"{base}/_data_stream/{prefix}*", params={"expand_wildcards": "all"})
        client.delete(f"{base}/{prefix}*", params={"expand_wildcards": "all", "ignore_unavailable": "true"})
        client.delete(f"{base}/_index_template/{prefix}*")
        client.delete(f"{base}/_component_template/{prefix}*")


def delete_redis_prefix(url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=500))
        if keys:
            client.delete(*keys)
    finally:
        client.close()
