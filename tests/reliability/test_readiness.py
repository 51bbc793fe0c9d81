"""``/readyz`` follows the outputs: 503 while Elasticsearch cannot be reached, 200 again after.

Before, no output implemented ``ready()`` and ``/readyz`` answered 200 whatever the
outputs did, so a Kubernetes readiness probe could not take a replica out. The
shared Elasticsearch is never stopped: a fault proxy in front of it refuses
connections for the outage.
"""
from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from tests.reliability.faultproxy import FaultProxy
from tests.reliability.procs import Logpipe, free_port
from tests.reliability.waits import at_least, es_count, until

pytestmark = [pytest.mark.timeout(180)]


async def readyz(port: int) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as s:
        async with s.get(f"http://127.0.0.1:{port}/readyz",
                         timeout=aiohttp.ClientTimeout(total=5)) as r:
            return r.status, await r.json()


def test_readyz_is_503_while_elasticsearch_is_unreachable_and_200_after(
        es_url: str, es_index: str, logpipes: Any) -> None:
    host, _, port = es_url.removeprefix("http://").rstrip("/").partition(":")
    http_port, metrics_port = free_port(), free_port()

    async def scenario() -> None:
        async with FaultProxy(host, int(port or 9200)) as proxy:
            proc: Logpipe = logpipes(f"""
settings: {{batch_size: 50, batch_delay_ms: 5, pipeline_workers: 1}}
inputs: [{{type: http, id: web, port: {http_port}}}]
outputs:
  - {{type: elasticsearch, id: es, hosts: ["{proxy.url}"], index: {es_index}, timeout: 3,
     retry_initial_interval: 0.2, retry_max_interval: 1}}
""", metrics_port=metrics_port)
            proc.start()
            statuses: list[int] = []

            async def status_is(code: int) -> bool:
                """Whether /readyz answers ``code`` now (the status port may not be up yet)."""
                try:
                    status, body = await readyz(metrics_port)
                except aiohttp.ClientError:
                    return False
                statuses.append(status)
                return status == code

            await until(lambda: status_is(200), timeout=60, what="ready at start", step=0.2)
            proxy.set("refuse")
            await until(lambda: status_is(503), timeout=30, what="not ready while Elasticsearch is away",
                        step=0.2)
            status, body = await readyz(metrics_port)
            assert status == 503 and "es" in body["reason"], body
            # Events posted meanwhile wait (the HTTP client gets its answer after delivery).
            async with aiohttp.ClientSession() as s:
                post = asyncio.create_task(s.post(f"http://127.0.0.1:{http_port}/",
                                                  json=[{"n": 1}, {"n": 2}],
                                                  timeout=aiohttp.ClientTimeout(total=60)))
                await proc.wait_message(r"bulk request of 2 documents", timeout=30)
                assert not post.done()
                proxy.set("pass")
                await until(lambda: status_is(200), timeout=30, what="ready again once it is back",
                            step=0.2)
                answer = await post
                assert answer.status == 200
            await until(lambda: at_least(es_count(es_url, es_index), 2), timeout=30,
                        what="events indexed")
            assert await es_count(es_url, es_index) == 2
            assert proc.terminate() == 0

    asyncio.run(scenario())

