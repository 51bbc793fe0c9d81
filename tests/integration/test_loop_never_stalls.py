"""A hostile event that takes grok's whole time budget does not stop the event loop.

grok stages run in the pipeline's filter thread (the other stages may run on
the loop: logpipe.core.filter_runner; the ``regex`` module releases the GIL
while it matches), so while one batch is stuck in grok:

- Lumberjack clients we did not write (pylogbeat for the window holding the
  hostile event, Elastic's go-lumber for ordinary traffic) get keepalive ACKs
  and keep their connections, although their read timeout is shorter than
  the grok run;
- the Kafka consumer keeps heartbeating: it is still the same group member
  afterwards, although the run is longer than its session timeout;
- the HTTP input answers.

Before, filters ran on the loop: the clients timed out, the consumer was
thrown out of its group, and HTTP requests waited for the grok run to end.
"""
from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any, Callable

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from pylogbeat import PyLogBeatClient

from .netinput_support import CaptureOutput, register_test_outputs, run, running, until

GO_CLIENT = Path(__file__).parent / "golumber"
SESSION_TIMEOUT_S = 6
CLIENT_TIMEOUT_S = 3
#: grok's budget for the hostile line: longer than the session timeout, so the consumer
#: must heartbeat through it.
GROK_BUDGET_MS = (SESSION_TIMEOUT_S + 2) * 1000
#: Backtracks without end on "a"*40 + "!" in the ``regex`` engine (the lookbehind keeps RE2 out).
HOSTILE_PATTERN = r"^(?<word>(a|aa)+)$(?<!b)"
HOSTILE_LINE = "a" * 40 + "!"

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(autouse=True)
def _outputs() -> None:
    register_test_outputs()


@pytest.fixture(scope="module")
def golumber(tmp_path_factory: pytest.TempPathFactory) -> Path:
    go = shutil.which("go")
    assert go is not None, "the Go toolchain is needed for the go-lumber client"
    binary = tmp_path_factory.mktemp("golumber") / "golumber"
    build = subprocess.run([go, "build", "-o", str(binary), "."], cwd=GO_CLIENT, capture_output=True,
                           text=True, timeout=600)
    assert build.returncode == 0, build.stderr
    return binary


async def group_members(bootstrap: str, group: str) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [described] = await admin.describe_consumer_groups([group])
    finally:
        await admin.close()
    group_info = described.groups[0]
    members = getattr(group_info, "members", None)
    if members is None:
        members = group_info[5]  # (error_code, group, state, protocol_type, protocol, members)
    return sorted(str(getattr(m, "member_id", None) or m[0]) for m in members)


def test_hostile_grok_event_leaves_beats_kafka_and_http_served(
        kafka_bootstrap: str, unique_topic: Callable[..., str], golumber: Path) -> None:
    topic = unique_topic(1)
    group = f"{topic}-group"

    async def scenario() -> None:
        async with running(f"""
settings: {{batch_size: 100, pipeline_workers: 2, batch_delay_ms: 5}}
inputs:
  - {{type: beats, id: beats, port: 0, keepalive_interval: 1}}
  - {{type: http, id: web, port: 0, response_on: accept}}
  - {{type: kafka, id: kafka, bootstrap_servers: "{kafka_bootstrap}", topics: [{topic}],
     group_id: {group}, session_timeout_ms: {SESSION_TIMEOUT_S * 1000},
     heartbeat_interval_ms: 1000, auto_offset_reset: earliest}}
filters:
  - {{type: grok, id: hostile-grok, if: '[hostile]', match: {{message: "{HOSTILE_PATTERN}"}},
     timeout_millis: {GROK_BUDGET_MS}}}
outputs: [{{type: capture}}]
""") as p:
            beats_port = p.inputs[0].bound_port
            http_port = p.inputs[1].bound_port
            kafka = p.inputs[2]
            captured = CaptureOutput.instances[0].events
            await until(lambda: kafka.assignment(), 60, "partition assignment")
            members_before = await group_members(kafka_bootstrap, group)
            assert len(members_before) == 1
            grok_stats = p.stats.plugins["hostile-grok"]

            def beats_window() -> None:
                with PyLogBeatClient("127.0.0.1", beats_port, timeout=CLIENT_TIMEOUT_S) as client:
                    client.send([{"message": "before"},
                                 {"message": HOSTILE_LINE, "hostile": True},
                                 {"message": "after"}])

            hostile_sent = asyncio.create_task(asyncio.to_thread(beats_window))
            await until(lambda: grok_stats.events_in > 0, 30, "the hostile event in grok")
            # While grok works: go-lumber windows are taken and wait behind it; HTTP answers.
            go = await asyncio.create_subprocess_exec(
                str(golumber), "-addr", f"127.0.0.1:{beats_port}", "-id", "go", "-count", "200",
                "-batch", "50", "-timeout", f"{CLIENT_TIMEOUT_S}s",
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            async with httpx.AsyncClient() as http:
                answer = await http.post(f"http://127.0.0.1:{http_port}/", json={"message": "via http"},
                                         timeout=CLIENT_TIMEOUT_S)
            assert answer.status_code == 202
            assert not any(e.get("hostile") for e in captured), "grok finished before HTTP answered"

            await hostile_sent  # pylogbeat got its ACK: keepalives held its 3 s read timeout off
            out, err = await asyncio.wait_for(go.communicate(), 120)
            result = json.loads(out.decode().strip().splitlines()[-1])
            assert go.returncode == 0 and result["acked"] == 200, (result, err.decode()[-2000:])

            # The grok run outlasted the session timeout, and the consumer is still the member.
            assert grok_stats.seconds > SESSION_TIMEOUT_S
            assert await group_members(kafka_bootstrap, group) == members_before
            [hostile] = [e for e in captured if e.get("hostile")]
            assert "_groktimeout" in hostile.get("tags", [])
            await until(lambda: any(e.get("message") == "via http" for e in captured), 30, "http event")

    run(scenario())
