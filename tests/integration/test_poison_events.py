"""A poison event is isolated: Kafka in, dissect and python, Elasticsearch out, the shared servers.

A python filter converts ``bytes`` to an int; one line carries 43947404257507186289,
which no JSON codec writes as an integer (dissect itself now keeps such a number
exact as a decimal, so it takes user code to make one). Before, the whole batch failed (the two good
events beside it were never indexed) and the Kafka input re-read it forever: its
partition stalled. Now the good events are indexed, the poison one goes to the
pipeline's dead-letter directory with its reason, and the consumer commits past it.
"""
from __future__ import annotations

import asyncio
import io
import json
from contextlib import redirect_stdout
from pathlib import Path
from typing import Callable

from logpipe.cli import main as cli
from logpipe.dlq.directory import read_records
from tests.integration.es_support import Es
from tests.integration.streaming_support import (committed_offsets, produce, running, sync,
                                                 until_async)

POISON = "43947404257507186289"


@sync
async def test_poison_event_goes_to_the_dead_letter_directory_and_the_partition_moves_on(
        kafka_bootstrap: str, es_url: str, unique_topic: Callable[..., str], unique_index: str,
        tmp_path: Path) -> None:
    topic = unique_topic(1)
    group = f"{topic}-g"
    index = f"{unique_index}-logs"
    pipeline = f"""
settings: {{batch_size: 100, batch_delay_ms: 20, pipeline_workers: 1, "path.data": "{tmp_path}"}}
inputs:
  - {{type: kafka, id: kafka, bootstrap_servers: "{kafka_bootstrap}", topics: [{topic}],
     group_id: {group}, auto_offset_reset: earliest, commit_interval_ms: 200}}
filters:
  - {{type: dissect, mapping: {{message: "id=%{{id}} bytes=%{{bytes}}"}}}}
  - {{type: python, code: "event.set('bytes', int(event.get('bytes')))"}}
outputs:
  - {{type: elasticsearch, id: es, hosts: ["{es_url}"], index: {index}}}
"""
    await produce(kafka_bootstrap, topic, [b"id=1 bytes=100", f"id=2 bytes={POISON}".encode(),
                                           b"id=3 bytes=300"], 1)
    es = Es(es_url)
    try:
        async with running(pipeline):
            async def indexed() -> bool:
                try:
                    return await es.count(index, missing_ok=True) == 2
                except AssertionError:  # a new index answers 503 until its shard is allocated
                    return False

            await until_async(indexed, 60, "the two good events indexed")
            await until_async(lambda: _committed(kafka_bootstrap, group, 3), 60,
                              "offsets committed past the poison event")
        docs = await es.search(index, {"match_all": {}})
        assert sorted(d["id"] for d in docs) == ["1", "3"]
    finally:
        await es.close()

    dlq = tmp_path / "dead_letter_queue" / "main"
    [(_, _, record)] = list(read_records(dlq))
    assert record["plugin_id"] == "es" and record["plugin_type"] == "elasticsearch"
    assert record["error"]["type"] == "serialization_error"
    assert record["event"]["bytes"] == POISON and record["event"]["id"] == "2"
    assert record["index"] == index

    # `logpipe dlq inspect` reads the directory kind.
    out = io.StringIO()
    with redirect_stdout(out):
        code = await asyncio.to_thread(cli, ["dlq", "inspect", "--dir", str(dlq), "--json"])
    assert code == 0
    [shown] = [json.loads(line) for line in out.getvalue().splitlines()]
    assert shown["error"]["type"] == "serialization_error"


async def _committed(bootstrap: str, group: str, offset: int) -> bool:
    return (await committed_offsets(bootstrap, group)).get(0) == offset


@sync
async def test_a_pipeline_with_a_kafka_dead_letter_queue_sends_any_outputs_rejects_there(
        kafka_bootstrap: str, unique_topic: Callable[..., str], tmp_path: Path) -> None:
    """The file output refuses the poison event; the pipeline's Kafka dead-letter topic gets it,
    and ``logpipe dlq inspect --pipeline`` finds that topic from the pipeline's settings."""
    dlq_topic = unique_topic(1)
    out = tmp_path / "out.jsonl"
    pipeline_file = tmp_path / "kdlq.yaml"
    pipeline_file.write_text(f"""
settings:
  batch_delay_ms: 5
  "path.data": "{tmp_path}"
  dead_letter_queue: {{type: kafka, kafka: {{bootstrap_servers: "{kafka_bootstrap}", topic: {dlq_topic}}}}}
inputs: [{{type: generator, count: 2, batch: 2, lines: ["id=1 bytes=1", "id=2 bytes={POISON}"]}}]
filters:
  - {{type: dissect, mapping: {{message: "id=%{{id}} bytes=%{{bytes}}"}}}}
  - {{type: python, code: "event.set('bytes', int(event.get('bytes')))"}}
outputs: [{{type: file, id: archive, path: "{out}"}}]
""")
    from logpipe.config import load_file
    from logpipe.core.pipeline import Pipeline

    assert await Pipeline(load_file(pipeline_file)).run()
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == ["1"]
    stdout = io.StringIO()
    with redirect_stdout(stdout):
        code = await asyncio.to_thread(cli, ["dlq", "inspect", "--pipeline", str(pipeline_file),
                                             "--json"])
    assert code == 0
    [record] = [json.loads(line) for line in stdout.getvalue().splitlines()]
    assert record["plugin_id"] == "archive" and record["pipeline"] == "kdlq"
    assert record["error"]["type"] == "serialization_error" and record["event"]["bytes"] == POISON
