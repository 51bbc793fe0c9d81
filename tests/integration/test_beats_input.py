"""The beats input against Lumberjack clients we did not write (pylogbeat, Elastic's
go-lumber) and against a raw client that misbehaves on purpose.

Every scenario runs a real pipeline (beats input -> file/capture/gate output) on an
ephemeral port and checks what reached the output, which ACKs the client saw, and
what was logged.
"""
from __future__ import annotations

import asyncio
import json
import logging
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pylogbeat import ConnectionException, PyLogBeatClient

from logpipe.errors import LogpipeError
from logpipe.inputs.beats import BeatsInput
from logpipe.inputs.beats.protocol import (
    decode_acks,
    encode_compressed,
    encode_data,
    encode_json,
    encode_window,
    encode_window_of,
)

from .netinput_support import CaptureOutput, Certs, GateOutput, register_test_outputs, run, running, until

GO_CLIENT = Path(__file__).parent / "golumber"


@pytest.fixture(autouse=True)
def _outputs() -> None:
    register_test_outputs()


@pytest.fixture(scope="session")
def golumber(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The go-lumber client program, built once per session through the Go module proxy."""
    go = shutil.which("go")
    if go is None:
        pytest.skip("the Go toolchain is not installed")
    binary = tmp_path_factory.mktemp("golumber") / "golumber"
    build = subprocess.run([go, "build", "-o", str(binary), "."], cwd=GO_CLIENT, capture_output=True,
                           text=True, timeout=600)
    assert build.returncode == 0, build.stderr
    return binary


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return Certs(tmp_path_factory.mktemp("certs"))


async def run_go(binary: Path, port: int, *args: str, timeout: float = 60) -> tuple[int, dict[str, Any]]:
    proc = await asyncio.create_subprocess_exec(
        str(binary), "-addr", f"127.0.0.1:{port}", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    lines = out.decode().strip().splitlines()
    assert lines, err.decode()
    return proc.returncode or 0, json.loads(lines[-1])


class Raw:
    """A Lumberjack client written here, for exact control over bytes and ACKs."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, port: int, **kwargs: Any) -> Raw:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, **kwargs)
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def next_ack(self, timeout: float = 10) -> int:
        seqs, _ = decode_acks(await asyncio.wait_for(self.reader.readexactly(6), timeout))
        return seqs[0]

    async def window_ack(self, timeout: float = 10) -> tuple[int, int]:
        """The next ACK that acknowledges something, and how many keepalives came before it."""
        keepalives = 0
        while True:
            seq = await self.next_ack(timeout)
            if seq:
                return seq, keepalives
            keepalives += 1

    async def closed_by_server(self, timeout: float = 10) -> bytes:
        """Wait for the server to close; return what it sent before (ACKs, if any)."""
        try:
            return await asyncio.wait_for(self.reader.read(), timeout)
        except (ConnectionResetError, BrokenPipeError):
            return b""

    def close(self) -> None:
        self.writer.close()


def docs(n: int, start: int = 0, **extra: Any) -> list[dict[str, Any]]:
    return [{"message": f"event {i}", "n": i, **extra} for i in range(start, start + n)]


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def beats_yaml(outputs: str, extra: str = "", **options: Any) -> str:
    opts = "".join(f", {k}: {v}" for k, v in options.items()) + (f", {extra}" if extra else "")
    return f"""
settings: {{batch_size: 1000, pipeline_workers: 2, batch_delay_ms: 5}}
inputs: [{{type: beats, id: beats, port: 0{opts}}}]
outputs: [{outputs}]
"""


# --- clients we did not write ----------------------------------------------------------
def test_pylogbeat_windows_arrive_exactly_once(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"

    async def scenario() -> None:
        async with running(beats_yaml(f"{{type: file, path: '{out}'}}")) as p:
            port = p.inputs[0].bound_port

            def send() -> None:
                # pylogbeat compresses every window and numbers events across windows.
                with PyLogBeatClient("127.0.0.1", port, timeout=10) as client:
                    for w in range(30):
                        client.send(docs(100, w * 100))

            await asyncio.to_thread(send)

    run(scenario())
    numbers = [d["n"] for d in read_jsonl(out)]
    assert sorted(numbers) == list(range(3000))


def test_go_lumber_clients_compressed_and_not_pipelined_and_not(tmp_path: Path, golumber: Path) -> None:
    out = tmp_path / "out.jsonl"
    variants = {
        "sync-plain": ["-compress", "0", "-batch", "250"],
        "async-zlib": ["-compress", "3", "-batch", "300", "-pipelining", "4"],
        "async-plain": ["-compress", "0", "-batch", "128", "-pipelining", "2"],
        "sync-zlib9": ["-compress", "9", "-batch", "512"],
    }

    async def scenario() -> list[tuple[int, dict[str, Any]]]:
        async with running(beats_yaml(f"{{type: file, path: '{out}'}}")) as p:
            port = p.inputs[0].bound_port
            return await asyncio.gather(*(run_go(golumber, port, "-id", name, "-count", "4000", *args)
                                          for name, args in variants.items()))

    results = run(scenario())
    for code, result in results:
        assert code == 0 and result["acked"] == 4000, result
    rows = read_jsonl(out)
    seen = {(r["client"], r["n"]) for r in rows}
    assert len(rows) == len(seen) == 4 * 4000  # every event once, none twice
    assert seen == {(name, n) for name in variants for n in range(4000)}
    first = rows[0]
    assert first["log"]["file"]["path"] == "/var/log/app.log" and first["input"]["type"] == "filestream"


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_ack_carries_each_windows_highest_sequence_in_arrival_order(loop: str) -> None:
    async def scenario() -> None:
        async with running(beats_yaml("{type: capture}")) as p:
            raw = await Raw.connect(p.inputs[0].bound_port)
            captured = CaptureOutput.instances[0].events
            # Five windows sent back to back without waiting, as Filebeat pipelines them.
            await raw.send(encode_window_of(docs(5))
                           + encode_window_of(docs(3, 5), compress_level=6)
                           + encode_window_of(docs(7, 8))
                           + encode_window_of(docs(4, 15), first_seq=101)  # pylogbeat-style numbering
                           + encode_window(2) + encode_data(1, {"message": "kv 1"})
                           + encode_compressed(encode_data(2, {"message": "kv 2"})))
            expected = [(5, 5), (3, 8), (7, 15), (104, 19), (2, 21)]
            for seq, delivered in expected:
                ack, _ = await raw.window_ack()
                assert ack == seq
                # An ACK is sent only once the output has the window's events.
                assert len(captured) >= delivered
            raw.close()
            assert [e.get("n") for e in captured[:19]] == list(range(19))
            assert [e.get("message") for e in captured[19:]] == ["kv 1", "kv 2"]

    run(scenario(), loop)


def test_events_keep_beats_fields_and_protocol_metadata() -> None:
    async def scenario() -> None:
        async with running(beats_yaml("{type: capture}")) as p:
            port = p.inputs[0].bound_port
            doc = {"@timestamp": "2024-05-20T12:00:00.250Z", "message": "hello",
                   "@metadata": {"beat": "filebeat", "type": "_doc", "version": "8.14.0"},
                   "host": {"name": "node-7"}, "log": {"file": {"path": "/var/log/syslog"}}}
            await asyncio.to_thread(lambda: PyLogBeatClient("127.0.0.1", port, timeout=10).send([doc]))
            (event,) = CaptureOutput.instances[0].events
            assert event.data["@timestamp"].isoformat() == "2024-05-20T12:00:00.250000+00:00"
            assert event.get("[host][name]") == "node-7"
            assert event.get("[log][file][path]") == "/var/log/syslog"
            assert event.get("[@metadata][beat]") == "filebeat"
            beats = event.get("[@metadata][beats]")
            assert beats["remote_address"].startswith("127.0.0.1:")
            assert beats["seq"] == 1 and beats["beat_version"] == "8.14.0"
            assert "tls_peer_cn" not in beats
            assert event.get("[@metadata][input][type]") == "beats"

    run(scenario())


# --- TLS -------------------------------------------------------------------------------
@pytest.mark.parametrize("client_auth", ["none", "optional", "required"])
def test_tls_with_and_without_client_certificates(client_auth: str, golumber: Path, certs: Certs) -> None:
    async def scenario() -> dict[str, tuple[int, dict[str, Any]]]:
        async with running(beats_yaml("{type: capture}", certs.server_options(client_auth))) as p:
            port = p.inputs[0].bound_port
            tls = ["-ca", str(certs.ca), "-count", "300", "-batch", "100", "-compress", "1", "-timeout", "5s"]
            return {
                "with-cert": await run_go(golumber, port, "-id", "with-cert", *tls,
                                          "-cert", str(certs.client_cert), "-key", str(certs.client_key)),
                "no-cert": await run_go(golumber, port, "-id", "no-cert", *tls),
                "rogue-cert": await run_go(golumber, port, "-id", "rogue-cert", *tls,
                                           "-cert", str(certs.rogue_cert), "-key", str(certs.rogue_key)),
                "plaintext": await run_go(golumber, port, "-id", "plaintext", "-count", "10", "-timeout", "3s"),
            }

    results = run(scenario())
    expected_ok = {"none": {"with-cert", "no-cert", "rogue-cert"},
                   "optional": {"with-cert", "no-cert"},
                   "required": {"with-cert"}}[client_auth]
    for name, (code, result) in results.items():
        if name in expected_ok:
            assert code == 0 and result["acked"] == 300, (name, result)
        else:
            assert code != 0 and result["acked"] == 0, (name, result)
    events = CaptureOutput.instances[0].events
    by_client: dict[str, set[Any]] = {}
    for e in events:
        by_client.setdefault(e.get("client"), set()).add(e.get("[@metadata][beats][tls_peer_cn]"))
    assert set(by_client) == expected_ok
    # The verified client certificate's name is in the metadata; nothing unverified is.
    assert by_client["with-cert"] == ({None} if client_auth == "none" else {"shipper-1"})
    for name in expected_ok - {"with-cert"}:
        assert by_client[name] == {None}


def test_pylogbeat_over_tls_with_a_client_certificate(certs: Certs) -> None:
    async def scenario() -> None:
        async with running(beats_yaml("{type: capture}", certs.server_options("required"))) as p:
            port = p.inputs[0].bound_port

            def send(with_cert: bool) -> None:
                kwargs: dict[str, Any] = {"ssl_enable": True, "ssl_verify": True, "ca_certs": str(certs.ca)}
                if with_cert:
                    kwargs.update(certfile=str(certs.client_cert), keyfile=str(certs.client_key))
                with PyLogBeatClient("127.0.0.1", port, timeout=5, **kwargs) as client:
                    client.send(docs(50))

            await asyncio.to_thread(send, True)
            # Without a certificate the server ends the handshake (TLS 1.3 reports it on the
            # client's first read) and nothing is accepted.
            with pytest.raises((OSError, ConnectionException)):
                await asyncio.to_thread(send, False)
            events = CaptureOutput.instances[0].events
            assert len(events) == 50
            assert {e.get("[@metadata][beats][tls_peer_cn]") for e in events} == {"shipper-1"}

    run(scenario())


# --- backpressure ----------------------------------------------------------------------
@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_slow_output_holds_the_ack_and_sends_keepalives(loop: str) -> None:
    async def scenario() -> None:
        async with running(beats_yaml("{type: gate}", keepalive_interval=0.05)) as p:
            gate = GateOutput.instances[0]
            raw = await Raw.connect(p.inputs[0].bound_port)
            await raw.send(encode_window_of(docs(10)))
            await until(lambda: gate.waiting == 1, what="batch in the output")
            # While the output holds the batch, only keepalives (ACK 0) arrive.
            for _ in range(3):
                assert await raw.next_ack() == 0
            assert gate.events == []
            gate.release()
            seq, _ = await raw.window_ack()
            assert seq == 10
            assert [e.get("n") for e in gate.events] == list(range(10))
            raw.close()

    run(scenario(), loop)


def test_go_lumber_waits_through_a_stall_longer_than_its_timeout(golumber: Path) -> None:
    async def scenario() -> None:
        async with running(beats_yaml("{type: gate}", keepalive_interval=0.2)) as p:
            gate = GateOutput.instances[0]
            client = asyncio.create_task(run_go(golumber, p.inputs[0].bound_port, "-count", "600",
                                                "-batch", "200", "-pipelining", "2", "-timeout", "1s"))
            await until(lambda: gate.waiting >= 1, what="batch in the output")
            # The stall itself is the scenario: 2.5 s with the client's read timeout at 1 s.
            await asyncio.sleep(2.5)
            assert not client.done(), "the client gave up during the stall"
            gate.release()
            code, result = await client
            assert code == 0 and result["acked"] == 600, result
            assert sorted(e.get("n") for e in gate.events) == list(range(600))

    run(scenario())


def test_failed_window_is_never_acked_and_the_connection_closes(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="logpipe")

    async def scenario() -> None:
        async with running(beats_yaml("{type: gate, fail: true}", keepalive_interval=0.05)) as p:
            gate = GateOutput.instances[0]
            raw = await Raw.connect(p.inputs[0].bound_port)
            await raw.send(encode_window_of(docs(4)))
            await until(lambda: gate.waiting == 1, what="batch in the output")
            gate.release()
            tail = await raw.closed_by_server()
            assert set(decode_acks(tail)[0]) <= {0}, "a failed window was acknowledged"

    run(scenario())
    assert "was not delivered" in caplog.text


def test_shutdown_acks_what_is_in_flight_then_closes() -> None:
    async def scenario() -> None:
        async with running(beats_yaml("{type: gate}")) as p:
            gate = GateOutput.instances[0]
            port = p.inputs[0].bound_port
            raw = await Raw.connect(port)
            await raw.send(encode_window_of(docs(6)))
            await until(lambda: gate.waiting == 1, what="batch in the output")
            shutdown = asyncio.create_task(p.shutdown(10))
            await until(lambda: p.inputs[0].server.draining, what="draining")
            with pytest.raises(OSError):
                await Raw.connect(port)  # no longer accepting
            gate.release()
            assert (await raw.window_ack())[0] == 6
            await raw.closed_by_server()
            assert await shutdown is True

    run(scenario())


# --- bad input -------------------------------------------------------------------------
@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_bad_clients_are_cut_off_and_a_good_client_loses_nothing(
        loop: str, tmp_path: Path, golumber: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="logpipe")
    out = tmp_path / "out.jsonl"
    bomb_inner = encode_json(1, b"")[:6] + (8 * 1024 * 1024).to_bytes(4, "big") + b" " * (8 * 1024 * 1024)

    async def scenario() -> dict[str, Any]:
        async with running(beats_yaml(f"{{type: file, path: '{out}'}}", client_inactivity_timeout=1.0,
                                      max_connections=400, max_decompressed_bytes=1048576)) as p:
            port = p.inputs[0].bound_port
            server = p.inputs[0].server
            done = asyncio.Event()

            async def good_client() -> int:
                raw = await Raw.connect(port)
                sent = windows = 0
                while not done.is_set() or windows < 20:
                    await raw.send(encode_window_of(docs(50, sent, good=True), compress_level=windows % 2))
                    assert (await raw.window_ack())[0] == 50
                    sent += 50
                    windows += 1
                raw.close()
                return sent

            async def random_bytes() -> None:
                raw = await Raw.connect(port)
                await raw.send(b"\x00" + random.Random(7).randbytes(4096))
                assert await raw.closed_by_server() == b""

            async def truncated_frame() -> None:
                raw = await Raw.connect(port)
                await raw.send(encode_window(2) + encode_json(1, b'{"n": 1}') + encode_json(2, b'{"n": 2}')[:7])
                raw.writer.write_eof()
                assert await raw.closed_by_server() == b""

            async def zero_window() -> None:
                raw = await Raw.connect(port)
                await raw.send(encode_window(0))
                await raw.send(encode_window_of(docs(3, 0, zero=True)))
                assert (await raw.window_ack())[0] == 3  # the empty window changed nothing
                raw.close()

            async def two_gigabytes() -> None:
                raw = await Raw.connect(port)
                await raw.send(encode_window(1) + b"2J" + (1).to_bytes(4, "big") + (2**31).to_bytes(4, "big"))
                assert await raw.closed_by_server() == b""

            async def zip_bomb() -> None:
                raw = await Raw.connect(port)
                await raw.send(encode_window(1) + encode_compressed(bomb_inner, 9))
                assert await raw.closed_by_server() == b""

            async def idle() -> None:
                raw = await Raw.connect(port)
                assert await raw.closed_by_server(timeout=10) == b""

            async def half_open_flood() -> int:
                conns = await asyncio.gather(*(Raw.connect(port) for _ in range(1000)))
                for raw in conns:
                    raw.writer.write(b"2")  # the first byte of a frame, then nothing
                await asyncio.gather(*(raw.closed_by_server(timeout=15) for raw in conns))
                return len(conns)

            good = asyncio.create_task(good_client())
            go = asyncio.create_task(run_go(golumber, port, "-id", "go", "-count", "20000", "-batch", "100",
                                            "-compress", "1", "-pipelining", "2"))
            await until(lambda: len(server.connections) >= 2, what="good clients connected")
            await asyncio.gather(random_bytes(), truncated_frame(), zero_window(), two_gigabytes(),
                                 zip_bomb(), idle(), half_open_flood())
            done.set()
            return {"good": await good, "go": await go, "refused": server.refused,
                    "open": len(server.connections)}

    result = run(scenario(), loop)
    code, go = result["go"]
    assert code == 0 and go["acked"] == 20000, go
    assert result["refused"] > 0  # the flood went past max_connections
    rows = read_jsonl(out)
    good = [r["n"] for r in rows if r.get("good")]
    assert sorted(good) == list(range(result["good"]))
    assert sorted(r["n"] for r in rows if r.get("client") == "go") == list(range(20000))
    assert sorted(r["n"] for r in rows if r.get("zero")) == [0, 1, 2]
    log = caplog.text
    assert "protocol error: bad version byte 0x00" in log
    assert "closed its side in the middle of a window" in log
    assert "exceeds max_frame_bytes" in log
    assert "max_decompressed_bytes" in log
    assert "nothing received for" in log
    assert "max_connections (400) reached" in log


def test_reuse_port_lets_two_listeners_share_a_port() -> None:
    async def scenario() -> None:
        first = BeatsInput(BeatsInput.Config(port=0), id="first")
        await first.start()
        second = BeatsInput(BeatsInput.Config(port=first.bound_port), id="second")
        await second.start()
        assert second.bound_port == first.bound_port
        exclusive = BeatsInput(BeatsInput.Config(port=0, reuse_port=False), id="exclusive")
        await exclusive.start()
        clash = BeatsInput(BeatsInput.Config(port=exclusive.bound_port, reuse_port=False), id="clash")
        with pytest.raises(LogpipeError, match="cannot listen"):
            await clash.start()
        for plugin in (first, second, exclusive):
            await plugin.stop()

    run(scenario())
