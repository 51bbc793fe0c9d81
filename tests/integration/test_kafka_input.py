"""The ``kafka`` input against a real broker: offsets are committed only for delivered events.

Each test creates its own topic and consumer group, so runs never see each
other's data or offsets.
"""
from __future__ import annotations

import asyncio
import collections
import uuid
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from logpipe.inputs.kafka import KafkaInput

from tests.integration.streaming_support import (
    CollectOutput,
    KafkaServer,
    LogpipeProcess,
    committed_offsets,
    count_lines,
    create_topic,
    end_offsets,
    offsets_caught_up,
    produce,
    read_json_lines,
    running,
    sync,
    until,
    until_async,
)

pytestmark = pytest.mark.timeout(180)


def group() -> str:
    return f"logpipe-test-{uuid.uuid4().hex[:10]}"


def kafka_yaml(bootstrap: str, topic: str, group_id: str, *, output: str = "type: collect",
               extra: str = "", settings: dict[str, object] | None = None) -> str:
    merged = {"batch_delay_ms": 5, **(settings or {})}
    lines = "".join(f"  {k}: {v}\n" for k, v in merged.items())
    return f"""
settings:
{lines}inputs:
  - type: kafka
    id: kafka_in
    bootstrap_servers: "{bootstrap}"
    topics: ["{topic}"]
    group_id: {group_id}
    auto_offset_reset: earliest
    codec: json
    commit_interval_ms: 200
    {extra}
outputs:
  - {output}
"""


def values(n: int, start: int = 0, pad: int = 0) -> list[bytes]:
    filler = "x" * pad
    return [orjson.dumps({"n": i, "service": {"name": "graphmemory-api"}, "pad": filler})
            for i in range(start, start + n)]


async def _has_commits(bootstrap: str, group_id: str) -> bool:
    return bool(await committed_offsets(bootstrap, group_id))


@sync
async def test_100k_json_messages_over_6_partitions_reach_a_file_and_are_committed(
        kafka_bootstrap: str, tmp_path: Path) -> None:
    total = 100_000
    topic = await create_topic(kafka_bootstrap, 6)
    await produce(kafka_bootstrap, topic, values(total), 6)
    group_id = group()
    out_file = tmp_path / "out.jsonl"
    pipeline_file = tmp_path / "kafka.yaml"
    pipeline_file.write_text(kafka_yaml(kafka_bootstrap, topic, group_id,
                                        output=f"type: file\n    path: {out_file}",
                                        extra="max_poll_records: 2000",
                                        settings={"batch_size": 2000}))
    proc = LogpipeProcess(pipeline_file, tmp_path / "run.log")
    proc.start()
    try:
        await until(lambda: count_lines(out_file) >= total or not proc.alive(), 120, "100k lines")
        assert proc.alive(), proc.log_text()
        ends = await end_offsets(kafka_bootstrap, topic, 6)
        assert sum(ends.values()) == total
        await until_async(lambda: offsets_caught_up(kafka_bootstrap, group_id, ends), 20,
                          "committed offsets to reach the end offsets")
        assert proc.terminate() == 0, proc.log_text()
    finally:
        if proc.alive():
            proc.kill()
    seen = [r["n"] for r in read_json_lines(out_file)]
    assert len(seen) == total
    assert set(seen) == set(range(total))
    assert await committed_offsets(kafka_bootstrap, group_id) == ends


@sync
async def test_events_carry_kafka_coordinates_and_bad_json_is_kept(kafka_bootstrap: str) -> None:
    topic = await create_topic(kafka_bootstrap, 2)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        good = await producer.send_and_wait(topic, b'{"n": 1, "@timestamp": "2024-05-01T10:00:00Z"}',
                                            key=b"user-7", partition=1, headers=[("trace", b"abc")])
        bad = await producer.send_and_wait(topic, b"{broken", partition=0)
    finally:
        await producer.stop()
    async with running(kafka_yaml(kafka_bootstrap, topic, group())) as p:
        out = p.outputs[0]
        assert isinstance(out, CollectOutput)
        await out.wait_until(lambda: len(out.events) >= 2)
    by_partition = {e.get("[@metadata][kafka][partition]"): e for e in out.events}
    event = by_partition[1]
    assert event.get("n") == 1
    assert event.get("@timestamp").isoformat() == "2024-05-01T10:00:00+00:00"
    assert event.get("[@metadata][kafka]") == {
        "topic": topic, "partition": 1, "offset": good.offset, "key": "user-7",
        "timestamp": good.timestamp, "headers": {"trace": "abc"}}
    broken = by_partition[0]
    assert broken.get("message") == "{broken"
    assert broken.has_tag("_jsonparsefailure")
    assert broken.get("[@metadata][kafka][offset]") == bad.offset
    assert "@metadata" not in broken.to_dict()


@sync
async def test_failed_batches_are_read_again_and_committed_only_once_delivered(kafka_bootstrap: str) -> None:
    total = 6000
    topic = await create_topic(kafka_bootstrap, 3)
    await produce(kafka_bootstrap, topic, values(total), 3)
    group_id = group()
    yaml_text = kafka_yaml(kafka_bootstrap, topic, group_id, output="type: collect\n    fail_first: 4",
                           extra="redelivery_backoff_ms: 50\n    max_poll_records: 300")
    async with running(yaml_text) as p:
        out = p.outputs[0]
        assert isinstance(out, CollectOutput)
        await out.wait_until(lambda: len({e.get("n") for e in out.events}) >= total)
        ends = await end_offsets(kafka_bootstrap, topic, 3)
        await until_async(lambda: offsets_caught_up(kafka_bootstrap, group_id, ends), 20,
                          "committed offsets to reach the end offsets")
    assert out.refused == 4
    assert {e.get("n") for e in out.events} == set(range(total))


@sync
async def test_topics_pattern_subscribes_to_matching_topics(kafka_bootstrap: str) -> None:
    prefix = f"logpipe-test-pat{uuid.uuid4().hex[:6]}"
    first = await create_topic(kafka_bootstrap, 1, prefix=prefix)
    second = await create_topic(kafka_bootstrap, 2, prefix=prefix)
    await produce(kafka_bootstrap, first, values(100), 1)
    await produce(kafka_bootstrap, second, values(100, start=100), 2)
    yaml_text = kafka_yaml(kafka_bootstrap, "unused", group()).replace(
        'topics: ["unused"]', f'topics_pattern: "{prefix}-.*"')
    async with running(yaml_text) as p:
        out = p.outputs[0]
        assert isinstance(out, CollectOutput)
        await out.wait_until(lambda: len({e.get("n") for e in out.events}) >= 200)
    assert {e.get("[@metadata][kafka][topic]") for e in out.events} == {first, second}


@sync
async def test_sigkill_redelivers_only_what_was_not_committed(kafka_bootstrap: str, tmp_path: Path) -> None:
    total = 40_000
    partitions = 6
    topic = await create_topic(kafka_bootstrap, partitions)
    where = await produce(kafka_bootstrap, topic, values(total), partitions)
    group_id = group()
    out_file = tmp_path / "out.jsonl"
    pipeline_file = tmp_path / "kafka.yaml"
    common = "commit_interval_ms: 1000\n    session_timeout_ms: 6000\n    heartbeat_interval_ms: 1000"
    # First run: a slow output (about 4k events/s) so the kill lands mid-stream, with
    # up to a second's worth of events delivered but not yet committed.
    pipeline_file.write_text(kafka_yaml(
        kafka_bootstrap, topic, group_id,
        output=f"type: slow_file\n    path: {out_file}\n    fsync: true\n    delay_ms: 100",
        extra=f"max_poll_records: 200\n    {common}", settings={"batch_size": 200}))
    proc = LogpipeProcess(pipeline_file, tmp_path / "run.log")
    proc.start()
    try:
        await until(lambda: count_lines(out_file) >= 6000 or not proc.alive(), 60, "first deliveries")
        await until_async(lambda: _has_commits(kafka_bootstrap, group_id), 20, "a first commit")
        assert proc.alive(), proc.log_text()
        proc.kill()
        at_kill = await committed_offsets(kafka_bootstrap, group_id)
        delivered_at_kill = [r["n"] for r in read_json_lines(out_file)]
        assert len(delivered_at_kill) < total, "the stream ended before the kill; nothing was tested"
        # Second run: full speed.
        pipeline_file.write_text(kafka_yaml(
            kafka_bootstrap, topic, group_id, output=f"type: file\n    path: {out_file}\n    fsync: true",
            extra=f"max_poll_records: 500\n    {common}"))
        proc.start()
        await until(lambda: len({r["n"] for r in read_json_lines(out_file)}) >= total or not proc.alive(),
                    90, "every message after the restart")
        assert proc.terminate() == 0, proc.log_text()
    finally:
        if proc.alive():
            proc.kill()
    # Only delivered events were committed: everything below a committed offset was in the file.
    had = set(delivered_at_kill)
    committed_but_missing = [n for n, (part, off) in enumerate(where)
                             if off < at_kill.get(part, 0) and n not in had]
    assert committed_but_missing == []
    seen = [r["n"] for r in read_json_lines(out_file)]
    assert set(seen) == set(range(total))  # at least once
    duplicates = [n for n, count in collections.Counter(seen).items() if count > 1]
    for n in duplicates:
        partition, offset = where[n]
        assert offset >= at_kill.get(partition, 0), (
            f"message {n} at {partition}/{offset} was committed ({at_kill}) yet delivered again")
    # What may come twice is what was delivered but not yet committed at the kill, nothing more.
    assert len(duplicates) <= len(delivered_at_kill) - sum(at_kill.values())
    ends = await end_offsets(kafka_bootstrap, topic, partitions)
    await until_async(lambda: offsets_caught_up(kafka_bootstrap, group_id, ends), 20,
                      "committed offsets to reach the end offsets")


@sync
async def test_two_consumers_in_a_group_split_the_partitions(kafka_bootstrap: str) -> None:
    total = 12_000
    topic = await create_topic(kafka_bootstrap, 6)
    group_id = group()
    yaml_text = kafka_yaml(kafka_bootstrap, topic, group_id, extra="session_timeout_ms: 6000\n"
                           "    heartbeat_interval_ms: 500")
    async with running(yaml_text) as a, running(yaml_text) as b:
        in_a, in_b = a.inputs[0], b.inputs[0]
        assert isinstance(in_a, KafkaInput) and isinstance(in_b, KafkaInput)

        def split() -> bool:
            got_a, got_b = in_a.assignment(), in_b.assignment()
            return bool(got_a) and bool(got_b) and len(got_a | got_b) == 6 and not got_a & got_b

        await until(split, 60, "both members to own partitions")
        await produce(kafka_bootstrap, topic, values(total), 6)
        out_a, out_b = a.outputs[0], b.outputs[0]
        assert isinstance(out_a, CollectOutput) and isinstance(out_b, CollectOutput)
        await until(lambda: len({e.get("n") for e in out_a.events + out_b.events}) >= total, 60,
                    "every message")
        ends = await end_offsets(kafka_bootstrap, topic, 6)
        await until_async(lambda: offsets_caught_up(kafka_bootstrap, group_id, ends), 20,
                          "committed offsets to reach the end offsets")
        parts_a = {e.get("[@metadata][kafka][partition]") for e in out_a.events}
        parts_b = {e.get("[@metadata][kafka][partition]") for e in out_b.events}
    assert parts_a and parts_b and not parts_a & parts_b
    assert parts_a | parts_b == set(range(6))
    assert {e.get("n") for e in out_a.events + out_b.events} == set(range(total))


@sync
async def test_late_acks_for_revoked_partitions_are_not_committed(kafka_bootstrap: str) -> None:
    total = 2000
    topic = await create_topic(kafka_bootstrap, 2)
    await produce(kafka_bootstrap, topic, values(total), 2)
    group_id = group()
    yaml_text = kafka_yaml(kafka_bootstrap, topic, group_id,
                           extra="rebalance_wait_ms: 300\n    session_timeout_ms: 6000\n"
                                 "    heartbeat_interval_ms: 500")
    async with running(yaml_text) as a:
        in_a, out_a = a.inputs[0], a.outputs[0]
        assert isinstance(in_a, KafkaInput) and isinstance(out_a, CollectOutput)
        out_a.gate.clear()
        await until(lambda: in_a.held_events >= total, 30, "A to hold every message in flight")
        async with running(yaml_text) as b:
            in_b, out_b = b.inputs[0], b.outputs[0]
            assert isinstance(in_b, KafkaInput) and isinstance(out_b, CollectOutput)
            out_b.gate.clear()
            await until(lambda: len(in_a.assignment()) == 1 and len(in_b.assignment()) == 1, 60,
                        "the group to split the two partitions")
            (moved,) = in_b.assignment()
            (kept,) = in_a.assignment()
            # A's stuck batches of the partition it lost are delivered only now.
            out_a.gate.set()
            ends = await end_offsets(kafka_bootstrap, topic, 2)

            async def a_done() -> bool:
                return (await committed_offsets(kafka_bootstrap, group_id)).get(kept.partition) == ends[kept.partition]
            await until_async(a_done, 30, "A to commit its own partition")
            assert any(e.get("[@metadata][kafka][partition]") == moved.partition for e in out_a.events)
            committed = await committed_offsets(kafka_bootstrap, group_id)
            assert moved.partition not in committed  # B delivered nothing of it; A no longer owns it
            out_b.gate.set()
            await until_async(lambda: offsets_caught_up(kafka_bootstrap, group_id, ends), 30,
                              "B to commit the partition it took over")
    assert {e.get("n") for e in out_a.events + out_b.events} == set(range(total))


@sync
async def test_a_stuck_output_pauses_the_partitions_and_bounds_what_is_held(kafka_bootstrap: str) -> None:
    total = 50_000
    topic = await create_topic(kafka_bootstrap, 3)
    group_id = group()
    settings = {"queue_max_events": 1000, "batch_size": 200, "pipeline_workers": 2}
    max_poll = 300
    yaml_text = kafka_yaml(kafka_bootstrap, topic, group_id, settings=settings,
                           extra=f"max_poll_records: {max_poll}\n    fetch_max_bytes: 262144\n"
                                 "    max_partition_fetch_bytes: 65536")
    await produce(kafka_bootstrap, topic, values(total, pad=100), 3)
    async with running(yaml_text) as p:
        kafka_in = p.inputs[0]
        out = p.outputs[0]
        assert isinstance(kafka_in, KafkaInput) and isinstance(out, CollectOutput)
        out.gate.clear()  # the output hangs: nothing is delivered from now on
        await until(lambda: bool(kafka_in.assignment())
                    and kafka_in.paused_partitions == kafka_in.assignment(),
                    30, "the input to pause every partition")
        # queue + what the workers hold + at most one poll waiting to be submitted (+ slack of one)
        bound = (settings["queue_max_events"] + settings["pipeline_workers"] * settings["batch_size"]
                 + 2 * max_poll)
        # Blocked, the input keeps polling (to stay in the group) but must not fetch:
        # watch it across many poll cycles.
        highest = 0
        for _ in range(40):
            await asyncio.sleep(0.05)
            highest = max(highest, kafka_in.held_events)
            assert kafka_in.paused_partitions == kafka_in.assignment()
        assert 0 < highest <= bound
        assert p.queue.events <= settings["queue_max_events"]
        assert sum(kafka_in.lag().values()) >= total - bound
        out.gate.set()
        await out.wait_until(lambda: len({e.get("n") for e in out.events}) >= total, timeout=90)
        # The input may still sit in a poll begun while the queue was full; its next round
        # sees room and resumes every partition.
        await until(lambda: kafka_in.paused_partitions == set(), 30, "every partition to resume")
        ends = await end_offsets(kafka_bootstrap, topic, 3)
        await until_async(lambda: offsets_caught_up(kafka_bootstrap, group_id, ends), 20,
                          "committed offsets to reach the end offsets")
    assert {e.get("n") for e in out.events} == set(range(total))


@sync
async def test_slow_output_keeps_memory_flat(kafka_bootstrap: str, tmp_path: Path) -> None:
    """RSS of a real ``logpipe run`` stays put while 50 MB wait in Kafka behind a slow output."""
    total = 50_000
    topic = await create_topic(kafka_bootstrap, 3)
    await produce(kafka_bootstrap, topic, values(total, pad=1000), 3)
    group_id = group()
    out_file = tmp_path / "out.jsonl"
    pipeline_file = tmp_path / "kafka.yaml"
    pipeline_file.write_text(kafka_yaml(
        kafka_bootstrap, topic, group_id,
        output=f"type: slow_file\n    path: {out_file}\n    delay_ms: 100",
        extra="max_poll_records: 200\n    fetch_max_bytes: 1048576\n    max_partition_fetch_bytes: 262144",
        settings={"queue_max_events": 500, "batch_size": 100}))
    proc = LogpipeProcess(pipeline_file, tmp_path / "run.log")
    proc.start()
    try:
        await until(lambda: count_lines(out_file) >= 1500 or not proc.alive(), 60, "steady state")
        assert proc.alive(), proc.log_text()
        rss_start = proc.rss_bytes()
        rss_high = rss_start
        while count_lines(out_file) < 4500:
            assert proc.alive(), proc.log_text()
            rss_high = max(rss_high, proc.rss_bytes())
            await asyncio.sleep(0.1)
        ends = await end_offsets(kafka_bootstrap, topic, 3)
        committed = await committed_offsets(kafka_bootstrap, group_id)
    finally:
        proc.kill()
    waiting = sum(ends.values()) - sum(committed.values())
    assert waiting > 40_000  # most of the 50 MB is still in Kafka, not in our memory
    # 45 MB wait in Kafka; holding even a quarter of it in memory would show.
    assert rss_high - rss_start < 12 * 1024 * 1024, (rss_start, rss_high)


@sync
async def test_consumer_survives_a_broker_restart(tmp_path: Path) -> None:
    """A private broker is killed mid-stream and restarted: nothing acknowledged is lost,
    and records produced after the restart arrive too."""
    broker = KafkaServer(tmp_path / "kafka")
    if not broker.available():
        pytest.skip("Kafka libraries not installed (run scripts/services.sh up once)")
    await asyncio.to_thread(broker.format)
    await asyncio.to_thread(broker.start)
    try:
        bootstrap = broker.bootstrap
        topic = await create_topic(bootstrap, 3)
        await produce(bootstrap, topic, values(20_000), 3)
        group_id = group()
        yaml_text = kafka_yaml(bootstrap, topic, group_id, output="type: collect\n    delay_ms: 5",
                               extra="max_poll_records: 200\n    request_timeout_ms: 5000")
        async with running(yaml_text, shutdown_timeout=20) as p:
            out = p.outputs[0]
            assert isinstance(out, CollectOutput)
            await out.wait_until(lambda: len(out.events) >= 3000, timeout=60)
            broker.kill()
            await asyncio.to_thread(broker.start)
            await produce(bootstrap, topic, values(5000, start=20_000), 3)
            await out.wait_until(lambda: len({e.get("n") for e in out.events}) >= 25_000, timeout=90)
            ends = await end_offsets(bootstrap, topic, 3)
            await until_async(lambda: offsets_caught_up(bootstrap, group_id, ends), 30,
                              "committed offsets to reach the end offsets")
        assert {e.get("n") for e in out.events} == set(range(25_000))
    finally:
        broker.kill()
