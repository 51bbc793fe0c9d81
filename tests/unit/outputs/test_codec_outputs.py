"""stdout, file and tcp outputs write through their codec; null is blackhole by Logstash's name."""
from __future__ import annotations

import asyncio
import io
from datetime import datetime, timezone
from pathlib import Path

import orjson

from logpipe.core import registry
from logpipe.core.event import Event
from logpipe.outputs.blackhole import BlackholeOutput
from logpipe.outputs.file import FileOutput
from logpipe.outputs.stdout import StdoutOutput
from logpipe.outputs.tcp import TcpOutput

T = datetime(2024, 5, 1, tzinfo=timezone.utc)


def evs() -> list[Event]:
    return [Event({"@timestamp": T, "message": "m1", "svc": "a"}), Event({"@timestamp": T, "message": "m2", "svc": "b"})]


def stdout(codec: object) -> bytes:
    buf = io.BytesIO()
    out = StdoutOutput(StdoutOutput.Config(codec=codec), id="s", stream=buf)
    asyncio.run(out.send(evs()))
    return buf.getvalue()


def test_stdout_codecs_old_and_new() -> None:
    assert [orjson.loads(x)["message"] for x in stdout("json_lines").splitlines()] == ["m1", "m2"]
    assert stdout("pretty").startswith(b'{\n  "@timestamp": "2024-05-01T00:00:00Z"')
    assert b'"message" => "m1"' in stdout("rubydebug")
    assert stdout("dots") == b".."
    assert stdout({"type": "line", "format": "%{svc}:%{message}"}) == b"a:m1\nb:m2\n"
    assert StdoutOutput.Config.logstash_defaults == {"codec": "rubydebug"}


def test_file_output_json_lines_by_default_and_line_with_format(tmp_path: Path) -> None:
    async def write(**options: object) -> None:
        out = FileOutput(FileOutput.Config(**options), id="f")
        await out.start()
        await out.send(evs())
        await out.stop()
    asyncio.run(write(path=str(tmp_path / "%{svc}.jsonl")))
    assert orjson.loads((tmp_path / "a.jsonl").read_bytes())["message"] == "m1"
    asyncio.run(write(path=str(tmp_path / "plain.txt"), codec={"type": "line", "format": "%{svc} %{message}"}))
    assert (tmp_path / "plain.txt").read_text() == "a m1\nb m2\n"


def test_tcp_output_codecs_reach_a_real_socket() -> None:
    async def scenario(**options: object) -> bytes:
        got = bytearray()
        done = asyncio.Event()

        async def serve(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            got.extend(await r.read())
            done.set()
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        out = TcpOutput(TcpOutput.Config(port=server.sockets[0].getsockname()[1], **options), id="t")
        await out.start()
        await out.send(evs())
        await out.stop()
        await asyncio.wait_for(done.wait(), 5)
        server.close()
        return bytes(got)
    assert asyncio.run(scenario(codec="lines", format="%{message}")) == b"m1\nm2\n"
    assert asyncio.run(scenario(codec={"type": "line", "format": "<%{svc}>"})) == b"<a>\n<b>\n"
    assert asyncio.run(scenario(codec="json")).count(b"}{") == 1
    cef = asyncio.run(scenario(codec={"type": "cef", "fields": ["message"], "delimiter": "\\n"}))
    assert cef.splitlines()[0].endswith(b"|6|message=m1")


def test_null_is_blackhole_under_logstash_s_name() -> None:
    cls = registry.get("output", "null")
    assert issubclass(cls, BlackholeOutput) and cls.plugin_name == "null"
    assert registry.get("output", "blackhole").plugin_name == "blackhole"
