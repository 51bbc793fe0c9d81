"""The syslog input with util-linux ``logger`` as the client (RFC 3164 and 5424, TCP
and UDP, newline and octet-counted framing), plus garbage, oversize, stalled and TLS
clients over raw sockets.

``logger`` comes from util-linux (``apt-get install bsdutils`` on Debian, which is
installed on nearly every system).
"""
from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.integration.netinput_support import Certs, CaptureOutput, register_test_outputs, run, running, until

LOGGER = shutil.which("logger")


def logger(port: int, *args: str) -> None:
    assert LOGGER, "util-linux logger is needed (apt-get install bsdutils)"
    subprocess.run([LOGGER, "--server", "127.0.0.1", "--port", str(port), *args], check=True, timeout=10)


def pipeline(extra: str = "") -> str:
    return f"inputs: [{{type: syslog, port: 0{extra}}}]\noutputs: [{{type: capture}}]\n"


def port_of(p: object) -> int:
    return p.inputs[0].bound_port  # type: ignore[attr-defined, no-any-return]


@pytest.mark.parametrize("transport", [["--udp"], ["--tcp"], ["--tcp", "--octet-count"]])
def test_rfc5424_from_logger_gives_ecs_fields(transport: list[str]) -> None:
    register_test_outputs()

    async def scenario() -> None:
        async with running(pipeline()) as p:
            out = CaptureOutput.instances[0]
            await asyncio.to_thread(logger, port_of(p), *transport, "--rfc5424", "-t", "myapp", "-p", "local3.warning",
                                    "--msgid", "ID47", "--sd-id", "origin@32473", "--sd-param", 'x="1"',
                                    "hello", "five four two four")
            await until(lambda: len(out.events) == 1)
            e = out.events[0]
            assert e.data["message"] == "hello five four two four"
            assert e.get("[log][syslog][priority]") == 19 * 8 + 4
            assert e.get("[log][syslog][facility][code]") == 19
            assert e.get("[log][syslog][facility][name]") == "local3"
            assert e.get("[log][syslog][severity][name]") == "Warning"
            assert e.get("[process][name]") == "myapp"
            assert e.get("[log][syslog][msgid]") == "ID47"
            assert e.get("[log][syslog][structured_data][origin@32473][x]") == "1"
            assert e.get("[host][ip]") == "127.0.0.1"
            assert e.get("[host][hostname]") == socket.gethostname().split(".")[0]
            assert e.get("[log][syslog][structured_data][timeQuality][tzKnown]") == "1"   # logger's own
            assert abs((e.timestamp - datetime.now(timezone.utc)).total_seconds()) < 60
            assert "tags" not in e.data
    run(scenario())


@pytest.mark.parametrize("transport", [["--udp"], ["--tcp"]])
def test_rfc3164_from_logger_gives_legacy_fields_without_ecs(transport: list[str]) -> None:
    register_test_outputs()

    async def scenario() -> None:
        async with running(pipeline(", ecs_compatibility: disabled")) as p:
            out = CaptureOutput.instances[0]
            await asyncio.to_thread(logger, port_of(p), *transport, "--rfc3164", "-t", "cron", "-i",
                                    "-p", "auth.err", "job done")
            await until(lambda: len(out.events) == 1)
            e = out.events[0]
            assert e.data["message"] == "job done"
            assert (e.data["priority"], e.data["facility"], e.data["severity"]) == (4 * 8 + 3, 4, 3)
            assert e.data["facility_label"] == "security/authorization"
            assert e.data["severity_label"] == "Error"
            assert e.data["program"] == "cron" and e.data["pid"].isdigit()
            assert e.data["host"] == "127.0.0.1"
            assert e.data["timestamp"][:3].isalpha()
            assert e.data["logsource"] == socket.gethostname().split(".")[0]
    run(scenario())


def test_garbage_oversize_and_good_lines_share_a_tcp_connection() -> None:
    register_test_outputs()

    async def scenario() -> None:
        async with running(pipeline(", max_message_bytes: 512")) as p:
            out = CaptureOutput.instances[0]
            _, w = await asyncio.open_connection("127.0.0.1", port_of(p))
            w.write(b"<13>Dec  1 10:00:00 h app: good one\n"
                    b"this is not syslog\n"
                    b"<999>also not\n"
                    b"<13>Dec  1 10:00:00 h app: " + b"x" * 2000 + b"\n"
                    b"\xff\xfe<13>Dec  1 10:00:00 h app: broken bytes\n"
                    b"27 <13>Dec  1 10:00:00 h a: ok\n"
                    b"<13>Dec  1 10:00:00 h app: good two\n")
            await w.drain()
            w.close()
            await until(lambda: len(out.events) == 7)
            msgs = [e.data["message"] for e in out.events]
            assert msgs[0] == "good one" and msgs[-1] == "good two"
            for e in out.events[1:3]:
                assert e.tags == ["_grokparsefailure_sysloginput"]
                assert e.get("[log][syslog][facility][code]") == 1       # the default priority 13
                assert e.get("[log][syslog][severity][name]") == "Notice"
            assert msgs[1] == "this is not syslog"
            assert "_syslog_message_too_long" in out.events[3].tags and len(msgs[3]) < 600
            assert "_utf8error" in out.events[4].tags
            assert msgs[5] == "ok"
    run(scenario())


def test_oversize_and_garbage_datagrams() -> None:
    register_test_outputs()

    async def scenario() -> None:
        async with running(pipeline(", max_message_bytes: 300")) as p:
            out = CaptureOutput.instances[0]
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            for data in (b"<14>1 2024-01-01T00:00:00Z h app - - - first", b"\x00\x01garbage",
                         b"<14>1 2024-01-01T00:00:00Z h app - - - " + b"y" * 1000,
                         b"<14>1 2024-01-01T00:00:00Z h app - - - last"):
                s.sendto(data, ("127.0.0.1", port_of(p)))
            s.close()
            await until(lambda: len(out.events) == 4)
            by = {e.data["message"][:5]: e for e in out.events}
            assert by["first"].timestamp == datetime(2024, 1, 1, tzinfo=timezone.utc)
            assert "_grokparsefailure_sysloginput" in out.events[1].tags
            assert any("_syslog_message_too_long" in e.tags for e in out.events)
            assert "last" in by
    run(scenario())


def test_a_stalled_client_does_not_hold_up_others_and_is_closed_when_idle() -> None:
    register_test_outputs()

    async def scenario() -> None:
        async with running(pipeline(", idle_timeout: 0.5, protocols: [tcp]")) as p:
            out = CaptureOutput.instances[0]
            slow_r, slow_w = await asyncio.open_connection("127.0.0.1", port_of(p))
            slow_w.write(b"120 <13>1 2024-01-01T00:00:00Z h app - - - half")   # never finished
            await slow_w.drain()
            await asyncio.to_thread(logger, port_of(p), "--tcp", "--rfc5424", "meanwhile")
            await until(lambda: len(out.events) == 1)
            assert out.events[0].data["message"] == "meanwhile"
            closed = await asyncio.wait_for(slow_r.read(), 5)        # EOF once the idle timeout passes
            assert closed == b""
    run(scenario())


def test_tls_with_client_certificates(tmp_path: Path) -> None:
    certs = Certs(tmp_path)
    register_test_outputs()

    async def scenario() -> None:
        async with running(pipeline(", protocols: [tcp], " + certs.server_options("required"))) as p:
            out = CaptureOutput.instances[0]
            ctx = ssl.create_default_context(cafile=str(certs.ca))
            ctx.load_cert_chain(str(certs.client_cert), str(certs.client_key))
            _, w = await asyncio.open_connection("127.0.0.1", port_of(p), ssl=ctx)
            w.write(b"<13>1 2024-01-01T00:00:00Z h app - - - over tls\n")
            await w.drain()
            w.close()
            await until(lambda: len(out.events) == 1)
            assert out.events[0].data["message"] == "over tls"
            plain = ssl.create_default_context(cafile=str(certs.ca))       # no client certificate
            try:       # TLS 1.3 reports the refusal after the handshake: as an error or as EOF
                r, w2 = await asyncio.open_connection("127.0.0.1", port_of(p), ssl=plain)
                w2.write(b"<13>1 2024-01-01T00:00:00Z h app - - - refused\n")
                await w2.drain()
                assert await asyncio.wait_for(r.read(), 5) == b""
            except (ssl.SSLError, ConnectionError):
                pass
            _, w3 = await asyncio.open_connection("127.0.0.1", port_of(p), ssl=ctx)
            w3.write(b"<13>1 2024-01-01T00:00:00Z h app - - - after\n")
            await w3.drain()
            w3.close()
            await until(lambda: len(out.events) == 2)
            assert [e.data["message"] for e in out.events] == ["over tls", "after"]
    run(scenario())
