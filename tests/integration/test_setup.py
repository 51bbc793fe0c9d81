"""``logpipe setup`` against the real node: install, idempotence, dry-run diff, and
templates that take realistic GraphMemory events."""
from __future__ import annotations

import io
import uuid
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from logpipe.cli import main as cli
from logpipe.core.plugin import PluginContext
from logpipe.outputs.elasticsearch import ElasticsearchOutput
from tests.integration.es_support import Es, ecs_events
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
    try:
        alias = "logs-graphmemory.access"
        query = {"term": {"labels.test_run": run}}
        assert await es.count(alias, query) == 3000
        assert await es.count(alias, {"bool": {"filter": [
            query, {"term": {"source.ip": "10.0.0.0/8"}}]}}) == 750
        status, mapping = await es.request("GET", f"/{alias}/_mapping/field/kubernetes.pod.name")
        (index_mapping,) = mapping.values()
        field = index_mapping["mappings"]["kubernetes.pod.name"]["mapping"]["name"]
        assert field["type"] == "keyword" and field["fields"]["text"]["type"] == "text"
    finally:
        await es.request("POST", f"/{alias}/_delete_by_query?refresh=true", {"query": query})
        await es.close()
