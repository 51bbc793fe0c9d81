"""The file output writes in a thread: a file that blocks (here a FIFO nobody reads yet,
standing in for a stalled disk) holds that output's batch, never the event loop.

Before, the write ran on the loop: while it blocked, the HTTP input answered nothing.
"""
from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

import httpx

from .netinput_support import run, running


def test_a_blocked_file_write_does_not_stop_http_answers(tmp_path: Path) -> None:
    fifo = tmp_path / "stalled.jsonl"
    os.mkfifo(fifo)
    # Should the loop itself be stuck in open() (the defect), a reader appears after a while
    # so the test fails on its assertions instead of hanging.
    held: list[int] = []
    watchdog = threading.Timer(20, lambda: held.append(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)))
    watchdog.start()

    async def scenario() -> bytes:
        async with running(f"""
settings: {{batch_delay_ms: 2, pipeline_workers: 2}}
inputs: [{{type: http, id: web, port: 0, response_on: accept}}]
outputs: [{{type: file, id: archive, path: "{fifo}"}}]
""") as p:
            port = p.inputs[0].bound_port
            archive = p.stats.plugins["archive"]
            async with httpx.AsyncClient() as http:
                first = await http.post(f"http://127.0.0.1:{port}/", json={"n": 1}, timeout=10)
                assert first.status_code == 202
                loop = asyncio.get_running_loop()
                deadline = loop.time() + 10
                while archive.events_in == 0:  # the output has the event and is stuck opening
                    assert loop.time() < deadline, "the file output never got the event"
                    await asyncio.sleep(0.01)
                second = await http.post(f"http://127.0.0.1:{port}/", json={"n": 2}, timeout=10)
                assert second.status_code == 202
                assert archive.events_out == 0  # still blocked: the answer came meanwhile
                # A reader appears (the disk recovers): what was held is written.
                data = await asyncio.to_thread(_read_fifo, fifo, 2)
        return data

    try:
        data = run(scenario())
    finally:
        watchdog.cancel()
        for fd in held:
            os.close(fd)
    assert b'"n":1' in data and b'"n":2' in data


def _read_fifo(path: Path, lines: int) -> bytes:
    out = b""
    with open(path, "rb") as f:
        while out.count(b"\n") < lines:
            chunk = f.read1(65536) if hasattr(f, "read1") else f.read(65536)
            if not chunk:
                break
            out += chunk
    return out
