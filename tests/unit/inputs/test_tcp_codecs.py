"""The tcp and stdin inputs with codecs other than lines: per-connection multiline state,
auto flush on a quiet connection, CEF records, and a multiline event left at EOF."""
from __future__ import annotations

import asyncio
import io

from logpipe.config import load_text
from logpipe.core.pipeline import Pipeline
from tests.integration.netinput_support import CaptureOutput, register_test_outputs, until

ML = '{type: multiline, pattern: "^\\\\s", what: previous'


async def tcp_pipeline(codec: str) -> tuple[Pipeline, asyncio.Event, asyncio.Task[bool], int]:
    register_test_outputs()
    p = Pipeline(load_text(f"inputs: [{{type: tcp, port: 0, codec: {codec}}}]\noutputs: [{{type: capture}}]",
                           source="t.yaml"))
    stop = asyncio.Event()
    task = asyncio.create_task(p.run(stop))
    await until(lambda: hasattr(p.inputs[0], "bound_port"))
    return p, stop, task, p.inputs[0].bound_port  # type: ignore[attr-defined]


def test_multiline_state_is_per_connection_and_flushed_at_close() -> None:
    async def scenario() -> None:
        p, stop, task, port = await tcp_pipeline(ML + "}")
        out = CaptureOutput.instances[0]
        _, a = await asyncio.open_connection("127.0.0.1", port)
        _, b = await asyncio.open_connection("127.0.0.1", port)
        for w, data in ((a, b"A1\n"), (b, b"B1\n"), (a, b"  A2\n"), (b, b"  B2\n"), (a, b"A3\n")):
            w.write(data)
            await w.drain()
        await until(lambda: len(out.events) == 1, what="A1 joined with A2")
        assert out.events[0].data["message"] == "A1\n  A2"
        b.close()
        await until(lambda: len(out.events) == 2, what="B's pending event at close")
        assert out.events[1].data["message"] == "B1\n  B2" and out.events[1].tags == ["multiline"]
        a.close()
        await until(lambda: len(out.events) == 3)
        stop.set()
        assert await task
    asyncio.run(scenario())


def test_auto_flush_interval_sends_a_quiet_connection_s_event() -> None:
    async def scenario() -> None:
        p, stop, task, port = await tcp_pipeline(ML + ", auto_flush_interval: 0.2}")
        out = CaptureOutput.instances[0]
        _, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(b"Exception in thread main\n  at a.b(C.java:1)\n")
        await w.drain()
        await until(lambda: len(out.events) == 1, what="the flush after 0.2 s of quiet")
        assert out.events[0].data["message"] == "Exception in thread main\n  at a.b(C.java:1)"
        w.close()
        stop.set()
        assert await task
    asyncio.run(scenario())


def test_cef_over_tcp_with_a_crlf_delimiter() -> None:
    async def scenario() -> None:
        p, stop, task, port = await tcp_pipeline('{type: cef, delimiter: "\\\\r\\\\n"}')
        out = CaptureOutput.instances[0]
        _, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(b"CEF:0|Vendor|Prod|1.0|100|Blocked|7|src=10.0.0.1 act=blocked\r\nnot cef\r\n")
        await w.drain()
        await until(lambda: len(out.events) == 2)
        assert out.events[0].get("[source][ip]") == "10.0.0.1"
        assert out.events[0].get("[event][action]") == "blocked"
        assert out.events[1].tags == ["_cefparsefailure"]
        w.close()
        stop.set()
        assert await task
    asyncio.run(scenario())


def test_stdin_multiline_sends_the_last_event_at_eof() -> None:
    async def scenario() -> None:
        from logpipe.inputs.stdin import StdinInput
        from logpipe.core.plugin import InputContext

        got = []

        async def submit(events: list, **_: object) -> None:
            got.extend(events)
        inp = StdinInput(StdinInput.Config(codec={"type": "multiline", "pattern": r"^\s", "what": "previous"}),
                         id="in", stream=io.BytesIO(b"a\n b\nc\n d"))
        await inp.start()
        await inp.run(InputContext(submit, None, asyncio.Event()))  # type: ignore[arg-type]
        assert [e.data["message"] for e in got] == ["a\n b", "c\n d"]
    asyncio.run(scenario())
