"""The dead-letter queue with real Kafka and Elasticsearch: rejected events, spill and
drain, inspect, and replay after a mapping fix."""
from __future__ import annotations

import asyncio
import sys
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest

from logpipe.core.event import Event
from logpipe.core.plugin import PluginContext
from logpipe.dlq import DeadLetterQueueConfig, DeadLetterWriter, build_record
from logpipe.dlq.reader import Selection, read
from logpipe.outputs.elasticsearch import ElasticsearchOutput
from tests.integration.es_support import Es, ecs_events
from tests.integration.streaming_support import sync

pytestmark = pytest.mark.timeout(120)

STRICT_MAPPING = {"mappings": {"dynamic": "strict", "properties": {
    "@timestamp": {"type": "date"}, "message": {"type": "text"}, "seq": {"type": "long"},
    "source": {"properties": {"ip": {"type": "ip"}}},
}}, "settings": {"number_of_replicas": 0}}


@pytest.fixture
def topic(unique_topic: Any) -> str:
    return str(unique_topic(partitions=2))


@pytest.fixture
def es_index(unique_index: str) -> str:
    return unique_index


def _events(n: int, bad: set[int]) -> list[Event]:
    """Events that fit STRICT_MAPPING, except ``bad`` ones: a hostname in source.ip
    (a parse error) for even numbers, an unmapped field (strict mapping) for odd ones."""
    out = []
    for i in range(n):
        data: dict[str, Any] = {"seq": i, "message": f"event {i}", "source": {"ip": f"192.0.2.{i % 250}"}}
        if i in bad:
            if i % 2 == 0:
                data["source"]["ip"] = "gateway.internal"
            else:
                data["customer"] = {"tier": "gold"}
        out.append(Event(data, {"kafka": {"topic": "in", "partition": 0, "offset": i}}))
    return out


async def _run_cli(*argv: str) -> tuple[int, str, str]:
    """``logpipe ARGV`` as a separate process, as an operator runs it."""
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "logpipe", *argv,
                                                stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return int(proc.returncode or 0), out.decode(), err.decode()


@sync
async def test_mapping_conflicts_go_to_the_dlq_with_the_reason_and_the_rest_is_indexed(
        es_url: str, kafka_bootstrap: str, topic: str, es_index: str, tmp_path: Path) -> None:
    es = Es(es_url)
    bad = {3, 10, 11, 500, 777, 1998}
    try:
        status, body = await es.request("PUT", f"/{es_index}", STRICT_MAPPING)
        assert status == 200, body
        cfg = ElasticsearchOutput.Config(
            hosts=[es_url], index=es_index, dead_letter_queue={
                "bootstrap_servers": kafka_bootstrap, "topic": topic,
                "spill_path": str(tmp_path / "spill.jsonl")})
        out = ElasticsearchOutput(cfg, id="es-strict", context=PluginContext(pipeline="it"))
        await out.start()
        try:
            await out.send(_events(2000, bad))
        finally:
            await out.stop()
        assert await es.count(es_index) == 2000 - len(bad)
        dlq = DeadLetterQueueConfig(bootstrap_servers=kafka_bootstrap, topic=topic)
        entries = [e async for e in read(dlq)]
        assert sorted(e.record["event"]["seq"] for e in entries) == sorted(bad)
        by_seq = {e.record["event"]["seq"]: e for e in entries}
        assert by_seq[10].reason_type == "document_parsing_exception"
        assert "source.ip" in by_seq[10].record["error"]["reason"]
        assert by_seq[11].reason_type == "strict_dynamic_mapping_exception"
        assert by_seq[11].record["error"]["status"] == 400
        assert by_seq[11].key == "in:0:11"
        assert {e.index for e in entries} == {es_index}
        assert {e.record["plugin_id"] for e in entries} == {"es-strict"}
        assert {e.record["pipeline"] for e in entries} == {"it"}
        assert not (tmp_path / "spill.jsonl").exists()

        # inspect: filtered, as JSON
        code, stdout, _ = await _run_cli("dlq", "inspect", "--bootstrap-servers", kafka_bootstrap,
                                   "--topic", topic, "--reason-type", "strict_dynamic_mapping_exception",
                                   "--json")
        assert code == 0
        shown = [orjson.loads(line) for line in stdout.splitlines()]
        assert sorted(r["event"]["seq"] for r in shown) == sorted(i for i in bad if i % 2)
        code, stdout, stderr = await _run_cli("dlq", "inspect", "--bootstrap-servers", kafka_bootstrap,
                                        "--topic", topic, "--limit", "2")
        assert code == 0 and len(stdout.splitlines()) == 2 and "2 records" in stderr
        assert "document_parsing_exception" in stdout or "strict_dynamic_mapping_exception" in stdout

        # the mapping is fixed (the unmapped field is added); parse errors stay errors
        status, body = await es.request("PUT", f"/{es_index}/_mapping", {"properties": {
            "customer": {"properties": {"tier": {"type": "keyword"}}}}})
        assert status == 200, body
        group = f"replay-{uuid.uuid4().hex[:8]}"
        code, stdout, stderr = await _run_cli("dlq", "replay", "--to-es", es_url, "--bootstrap-servers",
                                        kafka_bootstrap, "--topic", topic, "--group", group,
                                        "--skip-rejected", "--rate", "1000")
        assert code == 0, stderr
        assert "replayed 3 events" in stdout and "3 still rejected" in stdout
        fixed = {i for i in bad if i % 2}
        assert await es.count(es_index) == 2000 - len(bad) + len(fixed)
        hits = await es.search(es_index, {"term": {"customer.tier": "gold"}}, size=20)
        assert sorted(h["seq"] for h in hits) == sorted(fixed)
        assert {h["_id"] for h in hits} == {f"in:0:{i}" for i in fixed}  # the original ids

        # a second replay under the same group repeats nothing
        code, stdout, _ = await _run_cli("dlq", "replay", "--to-es", es_url, "--bootstrap-servers",
                                   kafka_bootstrap, "--topic", topic, "--group", group)
        assert code == 0 and "replayed 0 events" in stdout
        assert await es.count(es_index) == 2000 - len(bad) + len(fixed)
    finally:
        await es.delete(es_index)
        await es.close()


@sync
async def test_replay_stops_on_events_that_are_still_rejected(
        es_url: str, kafka_bootstrap: str, topic: str, es_index: str) -> None:
    es = Es(es_url)
    try:
        status, body = await es.request("PUT", f"/{es_index}", STRICT_MAPPING)
        assert status == 200, body
        dlq = DeadLetterQueueConfig(bootstrap_servers=kafka_bootstrap, topic=topic)
        writer = DeadLetterWriter(dlq, owner_id="t")
        await writer.start()
        await writer.write([build_record(event={"seq": 1, "nope": True}, error_type="strict_dynamic_mapping_exception",
                                         reason="unmapped", status=400, index=es_index, document_id="x1",
                                         pipeline="p", plugin_id="o")])
        await writer.stop()
        group = f"replay-{uuid.uuid4().hex[:8]}"
        code, _, stderr = await _run_cli("dlq", "replay", "--to-es", es_url, "--bootstrap-servers",
                                   kafka_bootstrap, "--topic", topic, "--group", group)
        assert code == 1 and "not committed" in stderr
        # nothing was committed: after the fix the same group replays it
        await es.request("PUT", f"/{es_index}/_mapping", {"properties": {"nope": {"type": "boolean"}}})
        code, stdout, _ = await _run_cli("dlq", "replay", "--to-es", es_url, "--bootstrap-servers",
                                   kafka_bootstrap, "--topic", topic, "--group", group)
        assert code == 0 and "replayed 1 events" in stdout
        assert await es.count(es_index) == 1
    finally:
        await es.delete(es_index)
        await es.close()


@sync
async def test_records_spilled_while_kafka_was_unreachable_are_drained_later(
        kafka_bootstrap: str, topic: str, tmp_path: Path) -> None:
    spill = str(tmp_path / "es.jsonl")
    records = [build_record(event=e.data, error_type="document_parsing_exception", reason="bad ip",
                            status=400, index="logs-x", document_id=f"d{n}", pipeline="p", plugin_id="es")
               for n, e in enumerate(ecs_events(0, 50))]
    # a broker address where nothing listens: everything goes to the fsynced spill file
    away = DeadLetterQueueConfig(bootstrap_servers="127.0.0.1:1", topic=topic, spill_path=spill,
                                 send_timeout=2)
    writer = DeadLetterWriter(away, owner_id="es")
    await writer.start()
    await writer.write(records)
    await writer.stop()
    assert writer.counters.spilled == 50
    assert len(Path(spill).read_bytes().splitlines()) == 50

    # next start, Kafka reachable: the spill file is drained on start
    back = away.model_copy(update={"bootstrap_servers": kafka_bootstrap})
    writer = DeadLetterWriter(back, owner_id="es")
    await writer.start()
    await writer.stop()  # stop drains what is left before closing
    assert writer.counters.drained == 50
    assert not Path(spill).exists()
    entries = [e async for e in read(back, Selection(reason_type="document_parsing_exception"))]
    assert sorted(e.key for e in entries) == sorted(f"d{n}" for n in range(50))
    assert entries[0].record["event"]["service"]["name"].startswith("graphmemory")
