"""``logpipe setup`` against the real node: install, idempotence, dry-run diff, and
templates that take realistic GraphMemory events."""
from __future__ import annotations

import io
import uuid
from contextlib import redirect_stderr, redirect_stdout

import pytest

from logpipe.cli import main as cli
from logpipe.core.codec import dumps
from logpipe.core.plugin import PluginContext
from logpipe.outputs.elasticsearch import ElasticsearchOutput
from logpipe.outputs.elasticsearch.ids import content_hash
from tests.integration.es_support import Es, ecs_events, typed_index
from tests.integration.streaming_support import sync

pytestmark = pytest.mark.timeout(120)

CATEGORIES = ("access", "app", "perf", "security")


def _setup(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli(["setup", *argv])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def installed(es_url: str) -> str:
    """Setup has run once (it may have run before: it is idempotent)."""
    code, out, err = _setup("--es", es_url)
    assert code == 0, out + err
    return out


def test_setup_installs_everything_and_a_second_run_changes_nothing(es_url: str, installed: str) -> None:
    assert "component template graphmemory@mappings" in installed
    for cat in CATEGORIES:
        assert f"index template logs-graphmemory.{cat}" in installed
        assert f"write index logs-graphmemory.{cat}" in installed
    code, out, err = _setup("--es", es_url)
    assert code == 0, err
    assert out.strip().endswith("no changes")
    assert "created" not in out and "updated" not in out


@sync
async def test_write_aliases_point_at_bootstrapped_indices(es_url: str, installed: str) -> None:
    es = Es(es_url)
    try:
        for cat in CATEGORIES:
            alias = f"logs-graphmemory.{cat}"
            status, body = await es.request("GET", f"/_alias/{alias}")
            assert status == 200, body
            writers = [i for i, a in body.items() if a["aliases"][alias].get("is_write_index")]
            assert len(writers) == 1 and writers[0].startswith(f"{alias}-")
            status, settings = await es.request("GET", f"/{writers[0]}/_settings?flat_settings=true")
            flat = settings[writers[0]]["settings"]
            assert flat["index.refresh_interval"] == "30s"
            assert flat["index.routing.allocation.include._tier_preference"] == "data_hot"
    finally:
        await es.close()


def test_dry_run_shows_a_drift_without_fixing_it_and_a_run_fixes_it(es_url: str, installed: str) -> None:
    import asyncio

    async def drift() -> dict:
        es = Es(es_url)
        try:
            _, body = await es.request("GET", "/_component_template/graphmemory@settings")
            template = body["component_templates"][0]["component_template"]
            template["template"]["settings"]["index"]["refresh_interval"] = "5s"
            for managed in [k for k in template if k.startswith(("created_date", "modified_date"))]:
                del template[managed]
            status, resp = await es.request("PUT", "/_component_template/graphmemory@settings", template)
            assert status == 200, resp
            _, again = await es.request("GET", "/_component_template/graphmemory@settings")
            return again
        finally:
            await es.close()

    asyncio.run(drift())
    code, out, _ = _setup("--es", es_url, "--dry-run")
    assert code == 0
    assert "component template graphmemory@settings: would update" in out
    assert '-      "index.refresh_interval": "5s"' in out
    assert '+      "index.refresh_interval": "30s"' in out
    assert "1 changes would be made" in out
    code, out, _ = _setup("--es", es_url, "--dry-run")
    assert "would update" in out  # the dry run changed nothing
    code, out, _ = _setup("--es", es_url)
    assert code == 0 and "component template graphmemory@settings: updated" in out
    code, out, _ = _setup("--es", es_url)
    assert out.strip().endswith("no changes")


@sync
async def test_templates_take_realistic_graphmemory_events_without_mapping_errors(
        es_url: str, installed: str) -> None:
    run = uuid.uuid4().hex
    es = Es(es_url)
    events = ecs_events(0, 3000)
    for e in events:
        e.set("[labels][test_run]", run)
        e.set("[event][severity]", 47)
        e.set("[event][risk_score]", 42.5)
        e.set("[kubernetes][pod][name]", "graphmemory-api-7d9f")
        e.set("[error][stack_trace]", "Traceback (most recent call last):\n  File \"x.py\"")
    cfg = ElasticsearchOutput.Config(hosts=[es_url], index="logs-graphmemory.%{[event][dataset]}",
                                     on_rejected="fail")
    out = ElasticsearchOutput(cfg, id="es-gm", context=PluginContext(pipeline="graphmemory"))
    await out.start()
    try:
        await out.send(events)  # any mapping error would raise DeliveryError
    finally:
        await out.stop()
    alias = "logs-graphmemory.access"
    try:
        query = {"term": {"labels.test_run": run}}
        assert await es.count(alias, query) == 3000
        assert await es.count(alias, {"bool": {"filter": [
            query, {"term": {"source.ip": "10.0.0.0/8"}}]}}) == 750
        status, mapping = await es.request("GET", f"/{alias}/_mapping/field/kubernetes.pod.name")
        (index_mapping,) = mapping.values()
        field = index_mapping["mappings"]["kubernetes.pod.name"]["mapping"]["name"]
        assert field["type"] == "keyword" and field["fields"]["text"]["type"] == "text"
    finally:
        await es.delete_ids(alias, [content_hash(dumps(e.data)) for e in events])
        await es.close()


@sync
async def test_the_graphmemory_pipelines_own_output_fits_the_templates(es_url: str, unique_index: str) -> None:
    """Generated GraphMemory traffic through the real pipeline's filters (``logpipe
    filter``), then into an index with the shipped mappings: no document is refused."""
    import asyncio
    import os
    import sys

    from logpipe.core.codec import event_from_json

    # Sampling off: every generated record comes out and is checked against the mappings.
    env = {**os.environ, "LOGPIPE_SCRUB_KEY": "integration-test-key", "LOGPIPE_SAMPLE_RATE": "1"}
    gen = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "logpipe", "generate", "--count", "3000", "--to", "stdout", "--formats", "all",
        "--no-progress", stdout=asyncio.subprocess.PIPE, env=env)
    raw, _ = await asyncio.wait_for(gen.communicate(), 60)
    filt = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "logpipe", "filter", "--pipeline", "graphmemory", "--format", "lines",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=env)
    out, err = await asyncio.wait_for(filt.communicate(raw), 120)
    assert filt.returncode == 0, err.decode()[-2000:]
    events = [event_from_json(line) for line in out.splitlines() if line.strip()]
    assert len(events) == 3000
    es = Es(es_url)
    index = f"{unique_index}-gm"
    try:
        await typed_index(es, es_url, index)
        cfg = ElasticsearchOutput.Config(hosts=[es_url], index=index, on_rejected="fail")
        output = ElasticsearchOutput(cfg, id="es-gm", context=PluginContext(pipeline="graphmemory"))
        await output.start()
        try:
            await output.send(events)  # a mapping error raises DeliveryError
        finally:
            await output.stop()
        assert await es.count(index) == 3000
        # the enrichment the pipeline adds is searchable by type
        assert await es.count(index, {"exists": {"field": "source.geo.location"}}) > 0
        assert await es.count(index, {"range": {"event.duration": {"gt": 0}}}) > 0
    finally:
        await es.delete(index)
        await es.close()
