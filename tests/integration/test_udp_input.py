"""The udp input with socat and Python's socket as senders: codecs, sender address,
oversize datagrams, garbage, and a full pipeline (drops are counted, the input lives on)."""
from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess

import pytest

from tests.integration.netinput_support import CaptureOutput, GateOutput, register_test_outputs, run, running, until

SOCAT = shutil.which("socat")


def send(port: int, *datagrams: bytes) -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for d in datagrams:
        s.sendto(d, ("127.0.0.1", port))
    s.close()


def port_of(p: object) -> int:
    return p.inputs[0].bound_port  # type: ignore[attr-defined, no-any-return]


def test_socat_datagrams_become_events_with_the_sender_address() -> None:
    assert SOCAT, "socat is needed for this test (apt-get install socat)"
    register_test_outputs()

    async def scenario() -> None:
        async with running("inputs: [{type: udp, port: 0}]\noutputs: [{type: capture}]") as p:
            out = CaptureOutput.instances[0]
            for text in ("hello from socat", "second datagram"):
                await asyncio.to_thread(subprocess.run, [SOCAT, "-u", "-", f"UDP-SENDTO:127.0.0.1:{port_of(p)}"],
                                        input=text.encode(), check=True, timeout=10)
            await until(lambda: len(out.events) == 2)
            assert sorted(e.data["message"] for e in out.events) == ["hello from socat", "second datagram"]
            assert all(e.get("[host][ip]") == "127.0.0.1" for e in out.events)
    run(scenario())


def test_json_codec_garbage_is_tagged_and_good_datagrams_around_it_arrive() -> None:
    register_test_outputs()

    async def scenario() -> None:
        async with running("inputs: [{type: udp, port: 0, codec: json, ecs_compatibility: disabled}]\n"
                           "outputs: [{type: capture}]") as p:
            out = CaptureOutput.instances[0]
            send(port_of(p), b'{"n": 1}', b"\x00\xffgarbage", b'[{"n": 2}, {"n": 3}]', b'{"n": 4}')
            await until(lambda: len(out.events) == 5)
            assert [e.data.get("n") for e in out.events] == [1, None, 2, 3, 4]
            assert "_jsonparsefailure" in out.events[1].tags
            assert out.events[0].data["host"] == "127.0.0.1"
    run(scenario())


def test_oversize_datagrams_are_cut_tagged_and_counted() -> None:
    register_test_outputs()

    async def scenario() -> None:
        async with running("inputs: [{type: udp, port: 0, buffer_size: 1024}]\noutputs: [{type: capture}]") as p:
            out = CaptureOutput.instances[0]
            send(port_of(p), b"small", b"z" * 5000, b"after")
            await until(lambda: len(out.events) == 3)
            big = out.events[1]
            assert big.tags == ["_udp_datagram_truncated"] and big.data["message"] == "z" * 1024
            assert p.inputs[0].truncated == 1  # type: ignore[attr-defined]
            assert out.events[2].data["message"] == "after"
    run(scenario())


def test_line_codec_splits_a_datagram_into_events() -> None:
    register_test_outputs()

    async def scenario() -> None:
        async with running("inputs: [{type: udp, port: 0, codec: {type: line}}]\noutputs: [{type: capture}]") as p:
            out = CaptureOutput.instances[0]
            send(port_of(p), b"a\nb\nc")
            await until(lambda: len(out.events) == 3)
            assert [e.data["message"] for e in out.events] == ["a", "b", "c"]
    run(scenario())


def test_a_full_pipeline_drops_and_counts_then_recovers() -> None:
    register_test_outputs()

    async def scenario() -> None:
        async with running("settings: {queue_max_events: 4, batch_size: 2}\n"
                           "inputs: [{type: udp, port: 0, queue_size: 10}]\noutputs: [{type: gate}]") as p:
            gate = GateOutput.instances[0]
            udp = p.inputs[0]
            send(port_of(p), *(b"burst %d" % i for i in range(300)))
            await until(lambda: udp.receiver.count >= 250, what="most datagrams seen")  # type: ignore[attr-defined]
            assert udp.receiver.dropped > 0  # type: ignore[attr-defined]
            gate.release()
            await until(lambda: len(gate.events) == udp.receiver.count - udp.receiver.dropped,  # type: ignore[attr-defined]
                        what="every kept datagram delivered")
            send(port_of(p), b"later")
            await until(lambda: gate.events[-1].data["message"] == "later")
    run(scenario())


@pytest.mark.parametrize("workers", [2])
def test_several_sockets_share_the_port(workers: int) -> None:
    register_test_outputs()

    async def scenario() -> None:
        async with running(f"inputs: [{{type: udp, port: 0, workers: {workers}}}]\noutputs: [{{type: capture}}]") as p:
            out = CaptureOutput.instances[0]
            for i in range(20):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)   # new source ports spread senders
                s.sendto(b"m%d" % i, ("127.0.0.1", port_of(p)))
                s.close()
            await until(lambda: len(out.events) == 20)
            assert len(p.inputs[0].receiver.transports) == workers  # type: ignore[attr-defined]
    run(scenario())


def test_datagrams_queued_at_shutdown_are_still_delivered() -> None:
    register_test_outputs()

    async def scenario() -> None:
        async with running("inputs: [{type: udp, port: 0}]\noutputs: [{type: capture}]") as p:
            out = CaptureOutput.instances[0]
            send(port_of(p), b"first")
            await until(lambda: len(out.events) == 1)
            # Two datagrams taken off the socket but not yet handed on when shutdown begins.
            p.inputs[0].receiver.pending.extend([(b"queued 1", "127.0.0.1"), (b"queued 2", "127.0.0.1")])  # type: ignore[attr-defined]
            await p.shutdown(10)
            assert [e.data["message"] for e in out.events] == ["first", "queued 1", "queued 2"]
    run(scenario())
