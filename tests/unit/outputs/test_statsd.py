"""``statsd`` output: what reaches a real UDP socket."""
from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from logpipe.core.event import Event
from logpipe.core.plugin import PluginContext
from logpipe.outputs.statsd import StatsdOutput, pack
from logpipe.runtime.metrics import MetricsRegistry


@pytest.fixture
def server() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    yield sock
    sock.close()


def received(sock: socket.socket, packets: int) -> list[bytes]:
    return [sock.recv(65535) for _ in range(packets)]


def lines_of(packets: list[bytes]) -> list[str]:
    return [line for p in packets for line in p.decode().split("\n")]


def run(sock: socket.socket, events: list[Event], context: PluginContext | None = None,
        **options: Any) -> StatsdOutput:
    port = sock.getsockname()[1]
    out = StatsdOutput(StatsdOutput.Config(host="127.0.0.1", port=port, **options), id="sd", context=context)

    async def go() -> None:
        await out.start()
        await out.send(events)
        await out.stop()

    asyncio.run(go())
    return out


def access(status: int, ms: float, host: str = "web-1.prod", user: str = "u1") -> Event:
    return Event({"http": {"response": {"status_code": status}}, "event": {"duration_ms": ms},
                  "host": {"name": host}, "user": user, "queue": {"depth": ms / 10}})


def test_counters_timings_gauges_and_sets(server: socket.socket) -> None:
    events = [access(200, 12.5), access(200, 30), access(500, 7, user="u2")]
    run(server, events, namespace="gm", sender="%{[host][name]}",
        increment=["http.%{[http][response][status_code]}"], count={"bytes": 10},
        timing={"latency": "[event][duration_ms]"}, gauge={"depth": "%{[queue][depth]}"},
        set={"users": "user"})
    lines = lines_of(received(server, 1))
    assert sorted(lines) == sorted([
        "gm.web-1_prod.http.200:2|c", "gm.web-1_prod.http.500:1|c", "gm.web-1_prod.bytes:30|c",
        "gm.web-1_prod.latency:12.5|ms", "gm.web-1_prod.latency:30|ms", "gm.web-1_prod.latency:7|ms",
        "gm.web-1_prod.depth:0.7|g",
        "gm.web-1_prod.users:u1|s", "gm.web-1_prod.users:u2|s",
    ])


def test_durations_in_other_units_are_sent_as_milliseconds(server: socket.socket) -> None:
    # StatsD timers are milliseconds; ECS event.duration is nanoseconds, nginx's request_time seconds.
    events = [Event({"event": {"duration": 48_000_000}, "rt": 0.25, "us": 1500}),
              Event({"event": {"duration": 2_472_000_000}, "rt": "1.5", "us": 3})]
    run(server, events, namespace="", timing={
        "ns": {"field": "[event][duration]", "unit": "ns"}, "s": {"field": "rt", "unit": "s"},
        "us": {"field": "us", "unit": "us"}, "plain": {"field": "us"}})
    assert sorted(lines_of(received(server, 1))) == sorted([
        "ns:48|ms", "ns:2472|ms", "s:250|ms", "s:1500|ms", "us:1.5|ms", "us:0.003|ms",
        "plain:1500|ms", "plain:3|ms"])


def test_prefix_alias_decrement_and_reserved_characters(server: socket.socket) -> None:
    run(server, [Event({"k": "a:b|c"})], prefix="app", decrement=["errors %{k}"])
    assert lines_of(received(server, 1)) == ["app.errors_a_b_c:-1|c"]


def test_missing_or_non_numeric_values_are_skipped_and_counted(server: socket.socket) -> None:
    registry = MetricsRegistry()
    ctx = PluginContext(metrics=registry)
    events = [Event({"ms": "fast"}), Event({}), Event({"ms": "15"})]
    run(server, events, context=ctx, namespace="", timing={"t": "ms"}, increment=["x.%{[missing]}"])
    assert lines_of(received(server, 1)) == ["t:15|ms"]
    snap = {f["name"]: f["samples"] for f in registry.snapshot()}
    assert snap["logpipe_statsd_skipped_total"] == [[{"id": "sd"}, 5.0]]
    assert snap["logpipe_statsd_packets_total"] == [[{"id": "sd"}, 1.0]]


def test_lines_are_packed_under_the_packet_size(server: socket.socket) -> None:
    events = [Event({"n": i}) for i in range(200)]
    run(server, events, namespace="gm", timing={"t": "n"}, max_packet_size=200)
    packets: list[bytes] = []
    while len(lines_of(packets)) < 200:
        packets.append(server.recv(65535))
    assert all(len(p) <= 200 for p in packets)
    assert len(packets) > 1
    assert sorted(int(line.split(":")[1].split("|")[0]) for line in lines_of(packets)) == list(range(200))


def test_sample_rate_is_applied_and_announced(server: socket.socket) -> None:
    out = StatsdOutput(StatsdOutput.Config(port=server.getsockname()[1], host="127.0.0.1", namespace="",
                                           increment=["hits"], sample_rate=0.5), id="sd")

    async def go() -> list[bytes]:
        await out.start()
        draws = iter([0.1, 0.9, 0.3, 0.7])
        out._random = lambda: next(draws)  # deterministic sampling
        lines = out.lines([Event({}) for _ in range(4)])
        await out.stop()
        return lines

    assert asyncio.run(go()) == [b"hits:2|c|@0.5"]


def test_an_unreachable_server_never_fails_the_batch() -> None:
    registry = MetricsRegistry()
    out = StatsdOutput(StatsdOutput.Config(host="no-such-host.invalid", increment=["x"]), id="sd",
                       context=PluginContext(metrics=registry))

    async def go() -> None:
        await out.start()
        await out.send([Event({})])
        await out.stop()

    asyncio.run(go())
    errors = {f["name"]: f["samples"] for f in registry.snapshot()}["logpipe_statsd_errors_total"]
    assert errors[0][1] >= 1


def test_pack() -> None:
    assert pack([b"aaaa", b"bbbb", b"cc"], 9) == [b"aaaa\nbbbb", b"cc"]
    assert pack([b"x" * 20, b"y"], 9) == [b"x" * 20, b"y"]


def test_config_validation() -> None:
    with pytest.raises(ValidationError):
        StatsdOutput.Config(sample_rate=0)
    with pytest.raises(ValidationError):
        StatsdOutput.Config(unknown=1)
    with pytest.raises(ValidationError, match="unit"):
        StatsdOutput.Config(timing={"t": {"field": "event.duration", "unit": "fortnights"}})
    with pytest.raises(ValidationError, match="field"):
        StatsdOutput.Config(timing={"t": {"unit": "ns"}})
    assert StatsdOutput.Config().port == 8125
