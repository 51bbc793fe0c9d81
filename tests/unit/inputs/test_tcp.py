"""The tcp input and output over real loopback sockets."""
from __future__ import annotations

import asyncio
from typing import Any

import orjson

from logpipe.config import load_text
from logpipe.core import registry
from logpipe.core.event import Event
from logpipe.core.pipeline import Pipeline
from logpipe.core.plugin import Output, PluginConfig


class Collect(Output):
    Config = PluginConfig
    got: list[Event] = []

    async def send(self, events: list[Event]) -> None:
        Collect.got.extend(events)


async def until(predicate: Any, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "condition not reached"
        await asyncio.sleep(0.005)


def start(codec: str, extra: str = "") -> Pipeline:
    registry.register("output", "collect", Collect)
    Collect.got = []
    return Pipeline(load_text(f"""
inputs: [{{type: tcp, port: 0, codec: {codec} {extra}}}]
outputs: [{{type: collect}}]
""", source="t.yaml"))


def test_lines_split_across_chunks_and_connections_arrive() -> None:
    async def scenario() -> None:
        p = start("lines", ", read_bytes: 4096")
        stop = asyncio.Event()
        run = asyncio.create_task(p.run(stop))
        await until(lambda: hasattr(p.inputs[0], "bound_port"))
        port = p.inputs[0].bound_port  # type: ignore[attr-defined]
        payload = b"".join(b"line %d with some padding text\r\n" % i for i in range(20_000))
        writers = []
        for part in (payload[:7], payload[7:300_001], payload[300_001:]):
            _, w = await asyncio.open_connection("127.0.0.1", port)
            w.write(part)
            await w.drain()
            writers.append(w)
        for w in writers:
            w.close()
        await until(lambda: len(Collect.got) >= 20_000 + 2)
        stop.set()
        assert await run
        messages = [e.data["message"] for e in Collect.got]
        # The two connection boundaries cut lines in three places: parts arrive as their own lines.
        assert sum(1 for m in messages if m.startswith("line ") and m.endswith("padding text")) >= 19_997
        assert not any(m.endswith("\r") for m in messages)

    asyncio.run(scenario())


def test_json_garbage_and_oversize_lines_are_tagged_not_dropped() -> None:
    async def scenario() -> None:
        p = start("json_lines", ", max_line_bytes: 100")
        stop = asyncio.Event()
        run = asyncio.create_task(p.run(stop))
        await until(lambda: hasattr(p.inputs[0], "bound_port"))
        _, w = await asyncio.open_connection("127.0.0.1", p.inputs[0].bound_port)  # type: ignore[attr-defined]
        w.write(b'{"a": 1}\nnot json\n' + b'{"big": "' + b"x" * 500 + b'"}\n' + b'\xff\xfe\n{"b": 2}\n{"tail": 3}')
        await w.drain()
        w.close()
        await until(lambda: len(Collect.got) >= 5)
        stop.set()
        assert await run
        by = {i: e for i, e in enumerate(Collect.got)}
        assert by[0].data["a"] == 1
        assert by[1].data["message"] == "not json" and by[1].has_tag("_jsonparsefailure")
        assert by[2].has_tag("_line_too_long")
        assert by[3].has_tag("_jsonparsefailure") and by[3].has_tag("_utf8error")
        assert by[4].data["b"] == 2
        assert Collect.got[-1].data["tail"] == 3  # a last line without newline still arrives

    asyncio.run(scenario())


def test_tcp_output_writes_json_lines_and_reconnects() -> None:
    async def scenario() -> None:
        received = bytearray()
        conns = 0
        first_closed = asyncio.Event()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal conns
            conns += 1
            data = await reader.read(1 << 20)
            received.extend(data)
            writer.close()
            first_closed.set()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        out = registry.get("output", "tcp")
        plugin = out(out.Config(port=port, reconnect_interval=0.05), id="t")
        await plugin.start()
        await plugin.send([Event({"n": 1}), Event({"n": 2})])
        await first_closed.wait()
        await until(lambda: received.count(b"\n") >= 2)
        # The server closed the connection; later sends reconnect until one gets through.
        for n in range(3, 8):
            await plugin.send([Event({"n": n})])
        await until(lambda: b'"n":7' in received or conns >= 2)
        await plugin.stop()
        server.close()
        docs = [orjson.loads(line) for line in bytes(received).splitlines()]
        assert [d["n"] for d in docs][:2] == [1, 2]
        assert conns >= 2

    asyncio.run(scenario())


def test_lines_codec_tags_only_the_bad_lines_of_a_block() -> None:
    """A block is decoded at once when it is valid UTF-8; one bad line must not cost
    the others, and an over-long line is cut, tagged, and its rest skipped."""
    async def scenario() -> None:
        p = start("lines", ", max_line_bytes: 64")
        stop = asyncio.Event()
        run = asyncio.create_task(p.run(stop))
        await until(lambda: hasattr(p.inputs[0], "bound_port"))
        _, w = await asyncio.open_connection("127.0.0.1", p.inputs[0].bound_port)  # type: ignore[attr-defined]
        w.write(b"caf\xc3\xa9 ok\r\n\r\nsecond\n")   # valid: decoded as one block
        await w.drain()
        await until(lambda: len(Collect.got) >= 2)
        w.write(b"bad \xff byte\n" + b"y" * 200 + b"\nafter long\nlast")
        await w.drain()
        w.close()
        await until(lambda: len(Collect.got) >= 6)
        stop.set()
        assert await run
        got = [(e.data["message"], sorted(e.tags)) for e in Collect.got]
        assert got[:2] == [("café ok", []), ("second", [])]
        assert got[2] == ("bad \ufffd byte", ["_utf8error"])
        assert got[3] == ("y" * 64, ["_line_too_long"])
        assert got[4:] == [("after long", []), ("last", [])]
        assert all(isinstance(e.data["@timestamp"], type(Collect.got[0].data["@timestamp"]))
                   for e in Collect.got)

    asyncio.run(scenario())
