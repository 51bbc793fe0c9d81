"""Fixtures giving integration tests real Kafka, Elasticsearch and Redis servers.

Session-scoped connection strings:

- ``es_url``          e.g. ``http://127.0.0.1:9200``
- ``kafka_bootstrap`` e.g. ``127.0.0.1:9092``
- ``redis_url``       e.g. ``redis://127.0.0.1:6379/0``

They come from ``LOGPIPE_TEST_ES`` / ``LOGPIPE_TEST_KAFKA`` / ``LOGPIPE_TEST_REDIS``
(``eval "$(scripts/services.sh up)"`` sets them), else from testcontainers when a Docker
engine answers, else the test is skipped -- or fails when ``CI=true``.

Per-test names that never collide between tests, runs or parallel workers, each
cleaned up after the test:

- ``unique_topic(partitions=1, config=None) -> str`` creates a topic (all partitions
  with a leader before it returns) and deletes it afterwards. Callable from sync and
  async tests alike.
- ``unique_index`` is a lowercase name prefix; every index, alias, data stream, index
  template and component template whose name starts with it is deleted afterwards.
  Use it as is or as ``f"{unique_index}-access"``.
- ``redis_key`` is a key (and prefix); every key starting with it is deleted afterwards.

Tests in this directory are marked ``integration`` (``-m "not integration"`` leaves
them out).
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from . import services

_HERE = Path(__file__).resolve().parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "integration: needs real Kafka, Elasticsearch or Redis (tests/integration)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.integration)


def _unavailable(message: str) -> NoReturn:
    if services.in_ci():
        pytest.fail(f"{message} (CI=true, so this is an error rather than a skip)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def _containers() -> Iterator[services.Containers]:
    pool = services.Containers()
    try:
        yield pool
    finally:
        pool.stop_all()


def _resolve(service: str, pool: services.Containers) -> str:
    var = services.ENV_VARS[service]
    value = os.environ.get(var, "").strip()
    if value:
        try:
            services.CHECKS[service](value)
        except services.ServiceUnavailable as exc:
            # The variable says the server should be there: a dead one is an error.
            pytest.fail(f"{exc} ({var}={value}); {services.HINT}", pytrace=False)
        return value
    if services.docker_available():
        try:
            return pool.url(service)
        except Exception as exc:  # image pull, start-up or health failure
            _unavailable(f"{var} is not set and starting a {service} container failed: "
                         f"{type(exc).__name__}: {exc}")
    _unavailable(f"{var} is not set and no Docker engine is reachable; {services.HINT}")


@pytest.fixture(scope="session")
def es_url(_containers: services.Containers) -> str:
    return _resolve("es", _containers)


@pytest.fixture(scope="session")
def kafka_bootstrap(_containers: services.Containers) -> str:
    return _resolve("kafka", _containers)


@pytest.fixture(scope="session")
def redis_url(_containers: services.Containers) -> str:
    return _resolve("redis", _containers)


@pytest.fixture
def unique_topic(
    kafka_bootstrap: str, request: pytest.FixtureRequest
) -> Iterator[Callable[..., str]]:
    created: list[str] = []

    def create(partitions: int = 1, config: dict[str, str] | None = None) -> str:
        name = services.unique_name("topic", request.node.name)
        services.run_sync(lambda: services.create_topic(kafka_bootstrap, name, partitions, config))
        created.append(name)
        return name

    yield create
    if created:
        try:
            services.run_sync(lambda: services.delete_topics(kafka_bootstrap, created))
        except Exception as exc:  # never mask the test's own result
            print(f"warning: could not delete topics {created}: {exc}")


@pytest.fixture
def unique_index(es_url: str, request: pytest.FixtureRequest) -> Iterator[str]:
    prefix = services.unique_name("idx", request.node.name)
    yield prefix
    try:
        services.delete_es_prefix(es_url, prefix)
    except Exception as exc:
        print(f"warning: could not clean up Elasticsearch prefix {prefix}: {exc}")


@pytest.fixture
def redis_key(redis_url: str, request: pytest.FixtureRequest) -> Iterator[str]:
    key = services.unique_name("key", request.node.name).replace("-", ":", 2)
    yield key
    try:
        services.delete_redis_prefix(redis_url, key)
    except Exception as exc:
        print(f"warning: could not delete Redis keys {key}*: {exc}")
