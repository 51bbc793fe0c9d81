"""``logpipe top``: rates from successive snapshots, and ``--once`` against a live endpoint."""
from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from rich.console import Console

from logpipe.cli import main
from logpipe.commands.top import render
from logpipe.runtime.health import StatusServer


def status(t: float, acked: int, out: int, failures: int = 0) -> dict[str, Any]:
    return {
        "pipeline": "graphmemory", "generation": 2, "time": t, "ready": True, "workers_expected": 2,
        "workers_running": 2, "restarts": 1, "reloads": {"success": 1, "failure": 0},
        "workers": [{"index": 0, "pid": 4242, "generation": 2, "state": "running", "ready": True,
                     "restarts": 1, "events_acked": acked, "queue_events": 3}],
        "totals": {"events_acked": acked, "events_failed": 0, "unacknowledged": 3,
                   "queue": {"events": 3, "bytes": 300, "max_events": 100, "max_bytes": 1000},
                   "plugins": [{"kind": "input", "type": "beats", "id": "beats_in", "events_in": 0,
                                "events_out": out, "failures": 0, "seconds": 0.0},
                               {"kind": "output", "type": "elasticsearch", "id": "es", "events_in": out,
                                "events_out": out, "failures": failures, "seconds": out / 1000}],
                   "metrics": [{"name": "logpipe_dlq_events_total", "type": "counter", "help": "",
                                "merge": "sum", "buckets": [], "samples": [[{"id": "es"}, 12]]}]},
    }


def text_of(renderable: Any) -> str:
    console = Console(width=160, record=True)
    console.print(renderable)
    return console.export_text()


def test_rates_come_from_the_difference_of_two_snapshots() -> None:
    screen = text_of(render(status(12.0, 3000, 3500, failures=2), status(10.0, 1000, 1500), "http://x"))
    assert "graphmemory" in screen
    assert "1.0k/s" in screen  # (3000 - 1000) acked over 2 s
    es_row = next(line for line in screen.splitlines() if " es " in line)
    assert "1.0k" in es_row and "2" in es_row and "1.000" in es_row  # rate, failures, ms/event
    assert "4242" in screen
    assert "logpipe_dlq_events_total{id=es}" in screen


def test_first_screen_has_no_rates() -> None:
    screen = text_of(render(status(10.0, 1000, 1500), None, "http://x"))
    beats_row = next(line for line in screen.splitlines() if "beats_in" in line)
    assert "1.5k" in beats_row and "/s" not in beats_row


def test_once_reads_a_running_endpoint(capsys: pytest.CaptureFixture[str]) -> None:
    loop = asyncio.new_event_loop()
    server = StatusServer("127.0.0.1", 0, status=lambda: status(10.0, 1000, 1500),
                          ready=lambda: (True, "ok"), metrics=lambda: b"")
    loop.run_until_complete(server.start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        code = main(["top", "--once", "--interval", "0.05", "--url", f"http://127.0.0.1:{server.port}"])
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.run_until_complete(server.stop())
        loop.close()
    out = capsys.readouterr().out
    assert code == 0
    assert "beats_in" in out and "es" in out and "graphmemory" in out


def test_unreachable_endpoint_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["top", "--once", "--url", "http://127.0.0.1:9"]) == 1
    assert "cannot read" in capsys.readouterr().err


def many_plugins(t: float, out: int) -> dict[str, Any]:
    """A status with the graphmemory pipeline's plugin ids, the longest being 19 characters."""
    doc = status(t, out, out)
    ids = [("input", "beats"), ("input", "http"), ("input", "kafka"), ("input", "redis"),
           ("filter", "decode_json_message"), ("filter", "parse_access"), ("filter", "geoip"),
           ("filter", "useragent"), ("filter", "scrub"), ("output", "elasticsearch"), ("output", "statsd")]
    doc["totals"]["plugins"] = [
        {"kind": kind, "type": name, "id": name, "events_in": 0 if kind == "input" else out,
         "events_out": out, "failures": 0, "seconds": out / 10_000} for kind, name in ids]
    doc["totals"]["metrics"] = []
    return doc


def test_once_into_a_pipe_keeps_every_number_whole(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    # Not a terminal (pytest captures stdout) and no COLUMNS: Rich alone would draw 80
    # columns and cut "16.5k" down to "1…".
    monkeypatch.delenv("COLUMNS", raising=False)
    snapshots = iter([many_plugins(10.0, 12_000), many_plugins(11.0, 16_500)])
    monkeypatch.setattr("logpipe.commands.top.fetch", lambda url, timeout=5.0: next(snapshots))
    assert main(["top", "--once", "--interval", "0"]) == 0
    out = capsys.readouterr().out
    assert "…" not in out
    row = next(line for line in out.splitlines() if "decode_json_message" in line)
    assert "4.5k" in row and "16.5k" in row and "0.100" in row  # rates, counts, ms/event
