"""The elasticsearch output against a real node: volume, types, duplicates, outages, 429s.

The typed-mapping tests install the shipped component templates (the same
``logpipe setup`` installs) and put a test-only index template over them, so
each test writes into its own index with the production mappings.
"""
from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from logpipe.config import load_text
from logpipe.core.pipeline import Pipeline
from logpipe.core.plugin import PluginContext
from logpipe.outputs.elasticsearch import ElasticsearchOutput
from tests.integration.es_support import GEO, Es, ThrottlingProxy, ecs_events, typed_index
from tests.integration.streaming_support import sync

pytestmark = pytest.mark.timeout(180)

REPO = Path(__file__).resolve().parents[2]


async def output(es_url: str, index: str, **options: Any) -> ElasticsearchOutput:
    cfg = ElasticsearchOutput.Config(hosts=[es_url], index=index, **options)
    out = ElasticsearchOutput(cfg, id="es-test", context=PluginContext(pipeline="it"))
    await out.start()
    return out


@pytest.fixture
def es_index(unique_index: str) -> str:
    return unique_index


@sync
async def test_a_hundred_thousand_events_are_indexed_with_working_types(es_url: str, es_index: str) -> None:
    es = Es(es_url)
    total = 100_000
    try:
        await typed_index(es, es_url, es_index)
        out = await output(es_url, es_index, batch_size=1000, max_in_flight=4, http_compression=True)
        sent: list[dict[str, Any]] = []
        try:
            for start in range(0, total, 10_000):
                events = ecs_events(start, 10_000, kafka_topic="graphmemory-logs")
                sent.extend(e.data for e in events[:: 997])
                await out.send(events)
        finally:
            await out.stop()
        assert out.counters.delivered == total
        assert await es.count(es_index) == total

        status, mapping = await es.request("GET", f"/{es_index}/_mapping")
        props = mapping[es_index]["mappings"]["properties"]
        assert props["source"]["properties"]["ip"]["type"] == "ip"
        assert props["source"]["properties"]["geo"]["properties"]["location"]["type"] == "geo_point"
        assert props["http"]["properties"]["response"]["properties"]["status_code"]["type"] == "long"
        assert props["user_agent"]["properties"]["original"]["fields"]["text"]["type"] == "text"

        # field by field, a sample of documents comes back as it was sent
        for doc in sent[:20]:
            (hit,) = await es.search(es_index, {"term": {"seq": doc["seq"]}})
            assert hit["_id"] == f"graphmemory-logs:{doc['seq'] % 3}:{doc['seq']}"
            for field in ("source", "http", "url", "user_agent", "performance", "service", "trace"):
                assert hit[field] == doc[field], field
            assert hit["@timestamp"] == doc["@timestamp"].isoformat().replace("+00:00", "Z")

        # every fourth event comes from 10.0.0.0/8 (CIDR term on an ip field)
        assert await es.count(es_index, {"term": {"source.ip": "10.0.0.0/8"}}) == total // 4
        # geo_distance: the Frankfurt share of the public clients
        expected_fra = sum(1 for i in range(total) if i % 4 and GEO[i % len(GEO)][0] == "DE")
        fra = {"geo_distance": {"distance": "20km", "source.geo.location": {"lat": 50.11, "lon": 8.68}}}
        assert await es.count(es_index, fra) == expected_fra
        # range on the date: events are 37 ms apart from BASE_TIME
        in_first_minute = {"range": {"@timestamp": {"gte": "2025-03-14T09:00:00Z",
                                                    "lt": "2025-03-14T09:01:00Z"}}}
        assert await es.count(es_index, in_first_minute) == 60_000 // 37 + 1
        # a long compared as a number, not as text
        assert await es.count(es_index, {"range": {"http.response.status_code": {"gte": 400}}}) == \
            sum(1 for i in range(total) if i % 7 == 4)
    finally:
        await es.delete(es_index)
        await es.close()


@sync
async def test_redelivering_a_batch_creates_no_duplicates(es_url: str, es_index: str) -> None:
    es = Es(es_url)
    try:
        out = await output(es_url, es_index)
        try:
            from_kafka = ecs_events(0, 3000, kafka_topic="t")
            from_beats = ecs_events(5000, 2000)  # no coordinates: content hash ids
            await out.send(from_kafka + from_beats)
            await out.send(from_kafka + from_beats)  # the input redelivers after a crash
            await out.send(from_beats[:500])
        finally:
            await out.stop()
        assert await es.count(es_index) == 5000
        assert out.counters.delivered == 5000
        assert out.counters.already_written == 5500
    finally:
        await es.delete(es_index)
        await es.close()


@sync
async def test_throttled_cluster_ends_with_every_event_indexed_once(es_url: str, es_index: str) -> None:
    """A proxy answers every third bulk request with 429 and turns every seventh item of
    the others into a 429 (that item not written), like a node with a full write queue."""
    es = Es(es_url)
    proxy = ThrottlingProxy(es_url, every_request=3, every_item=7)
    await proxy.start()
    try:
        out = await output(proxy.url, es_index, batch_size=500, max_in_flight=3,
                           retry_initial_interval=0.05, retry_max_interval=0.2)
        try:
            await out.send(ecs_events(0, 20_000, kafka_topic="t"))
        finally:
            await out.stop()
        assert proxy.rejected_requests > 0 and proxy.rejected_items > 0
        assert out.counters.retries > 0
        assert await es.count(es_index) == 20_000
        assert out.counters.delivered == 20_000
    finally:
        await proxy.stop()
        await es.delete(es_index)
        await es.close()


def _es_pid() -> int:
    pid_file = REPO / ".services" / "es" / "es.pid"
    if not pid_file.is_file():
        pytest.skip("Elasticsearch is not run by scripts/services.sh here (no pid file)")
    return int("".join(ch for ch in pid_file.read_text() if ch.isdigit()))


@sync
async def test_a_paused_node_loses_nothing_and_the_pipeline_resumes(es_url: str, es_index: str) -> None:
    """SIGSTOP the node mid-stream for ~12 s: requests time out and are retried; when it
    continues, the timed-out requests it did finish come back as conflicts on their
    deterministic ids, and the count is exact."""
    pid = _es_pid()
    total = 40_000
    spec = load_text(f"""
settings: {{batch_size: 1000, batch_delay_ms: 5, pipeline_workers: 2}}
inputs:
  - type: generator
    count: {total}
    batch: 500
    rate: 4000
outputs:
  - type: elasticsearch
    id: es
    hosts: ["{es_url}"]
    index: {es_index}
    timeout: 4
    retry_initial_interval: 0.5
    retry_max_interval: 2
""", source="pause.yaml")
    es = Es(es_url)
    pipeline = Pipeline(spec)
    run = asyncio.create_task(pipeline.run())
    stopped = False
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while await es.count(es_index, missing_ok=True) < 4000:  # mid-stream
            assert loop.time() < deadline and not run.done()
            await asyncio.sleep(0.2)
        os.kill(pid, signal.SIGSTOP)
        stopped = True
        await asyncio.sleep(12)  # the outage itself, not a synchronisation
    finally:
        if stopped:
            os.kill(pid, signal.SIGCONT)
    try:
        ok = await asyncio.wait_for(run, 120)
        assert ok
        assert pipeline.stats.events_acked == total
        out = pipeline.outputs[0]
        assert out.counters.retries > 0  # type: ignore[attr-defined]
        assert await es.count(es_index) == total
    finally:
        await es.delete(es_index)
        await es.close()
