"""A real ``logpipe run``: tcp input -> grok -> tcp output, with and without the
native route (logpipe.core.packed), over real sockets.

The route must be invisible: every line comes out once, in order per
connection, and the documents are those of the same run with
``native_route: false`` (apart from the arrival time in ``@timestamp``, whose
format must match too). The senders cover what a line reader meets: lines that
match and fail, ``\\r`` endings, blank lines, invalid UTF-8, an over-long line,
a vertical tab, a line written a few bytes at a time and a client that
disconnects in the middle of a line.
"""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

EXPRESSION = r"^%{WORD:conn}-%{INT:seq} %{LOGLEVEL:level}\s+%{GREEDYDATA:rest}$"
#: The tcp input's default: a read block longer than this takes the input's
#: line-by-line path, so a smaller limit would keep most lines off the route.
MAX_LINE = 1 << 20
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z$")
ROUTE_LOG = "lines go through the native route"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Sink:
    """A TCP server that keeps every byte the output writes, per connection."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.received: list[bytearray] = []
        self.lock = threading.Lock()
        self.readers: list[threading.Thread] = []
        self.acceptor = threading.Thread(target=self._accept, daemon=True)
        self.acceptor.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            buf = bytearray()
            with self.lock:
                self.received.append(buf)
            reader = threading.Thread(target=self._read, args=(conn, buf), daemon=True)
            self.readers.append(reader)
            reader.start()

    def _read(self, conn: socket.socket, buf: bytearray) -> None:
        with conn:
            while chunk := conn.recv(65536):
                with self.lock:
                    buf.extend(chunk)

    def documents(self) -> list[dict[str, Any]]:
        with self.lock:
            data = b"".join(bytes(b) for b in self.received)
        complete = data[:data.rfind(b"\n") + 1]
        return [orjson.loads(line) for line in complete.splitlines()]

    def close(self) -> None:
        """Stop accepting and wait for the threads (a thread left blocked in accept()
        would outlive the test: later tests check that none are running)."""
        try:
            self.server.shutdown(socket.SHUT_RDWR)   # wakes the blocked accept()
        except OSError:
            pass
        self.server.close()
        self.acceptor.join(10)
        for reader in self.readers:
            reader.join(10)
        assert not self.acceptor.is_alive() and not any(r.is_alive() for r in self.readers)


def lines_of(conn: str, count: int) -> list[bytes]:
    """Lines that match and lines that do not, with odd characters."""
    out = []
    for n in range(count):
        if n % 3 == 2:
            out.append(f"{conn}-{n} no level here \"q\" \\ é".encode())
        else:
            out.append(f"{conn}-{n} {'INFO' if n % 2 else 'ERROR'} text {n} \t \"quoted\" \\ 😀 €".encode())
    return out


def connect(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def send_all(port: int, sink: Sink, proc: subprocess.Popen[bytes]) -> int:
    """Every sender's traffic, one sender after the other: each waits until the
    documents of the one before have arrived, so that a worker's batch holds one
    sender's lines (a batch mixing packed and unpacked lines takes the event path
    as a whole, which would hide what the route does with them). Returns the
    number of events."""
    expected = 0

    def sent(count: int) -> None:
        nonlocal expected
        expected += count
        wait(lambda: len(sink.documents()) >= expected or proc.poll() is not None, f"{expected} documents")
        assert proc.poll() is None

    # One big write: matching and failing lines, \r endings, blank lines.
    lines = lines_of("big", 600)
    body = b"".join(ln + (b"\r\n" if i % 5 == 0 else b"\n") + (b"\n\r\n" if i % 7 == 0 else b"")
                    for i, ln in enumerate(lines))
    with connect(port) as s:
        s.sendall(body)
    sent(len(lines))
    # A block holding invalid UTF-8 between valid lines.
    with connect(port) as s:
        s.sendall(b"utf-0 INFO fine\nutf-1 INFO bad \xff\xfe here\nutf-2 WARN fine \xc3\xa9\n")
    sent(3)
    # An over-long line between normal ones.
    with connect(port) as s:
        s.sendall(b"long-0 INFO before\nlong-1 INFO " + b"x" * (MAX_LINE + MAX_LINE // 2) + b"\nlong-2 INFO after\n")
    sent(3)
    # A vertical tab where grok's \s is expected (Python's re counts it as space;
    # RE2, which gated the event path before the native matcher, does not).
    with connect(port) as s:
        s.sendall(b"vt-0 INFO\x0bvertical tab\nvt-1 INFO plain\n")
    sent(2)
    # A line written a few bytes at a time, then whole lines.
    with connect(port) as s:
        slow = b"slow-0 INFO written in pieces \xc3\xa9 \xf0\x9f\x98\x80 end\n"
        for i in range(0, len(slow), 3):
            s.sendall(slow[i:i + 3])
            time.sleep(0.002)        # pace the writes so that they arrive apart
        s.sendall(b"".join(ln + b"\n" for ln in lines_of("slow", 20)[1:]))
    sent(20)
    # A client that goes away in the middle of a line: its complete lines and the
    # partial one arrive.
    with connect(port) as s:
        s.sendall(b"cut-0 INFO complete\ncut-1 INFO complete\ncut-2 INFO half a li")
    sent(3)
    return expected


def run_logpipe(tmp: Path, native_route: bool) -> tuple[list[dict[str, Any]], str]:
    sink = Sink()
    port = free_port()
    config = tmp / f"native-{native_route}.yaml"
    config.write_text(f"""
settings:
  workers: 1
  pipeline_workers: 1
  native_route: {'true' if native_route else 'false'}
inputs:
  - {{type: tcp, host: 127.0.0.1, port: {port}}}
filters:
  - {{type: grok, match: {{message: '{EXPRESSION}'}}}}
outputs:
  - {{type: tcp, host: 127.0.0.1, port: {sink.port}}}
""")
    log = tmp / f"native-{native_route}.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "logpipe", "run", "--pipeline", str(config),
                             "--log-level", "info", "--log-format", "text"],
                            stdout=open(log, "wb"), stderr=subprocess.STDOUT, cwd=tmp, env=env,
                            start_new_session=True)
    try:
        wait(lambda: accepts(port) or proc.poll() is not None, "the tcp input to listen")
        assert proc.poll() is None, log.read_text()
        expected = send_all(port, sink, proc)
    finally:
        proc.terminate()
        proc.wait(30)
        sink.close()
    docs = sink.documents()
    assert len(docs) == expected, log.read_text()[-3000:]
    return docs, log.read_text()


def accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def wait(predicate: Any, what: str, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached in {limit}s")
        time.sleep(0.05)


def by_connection(docs: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Documents grouped by the sender their line came from, in arrival order."""
    out: dict[str, list[dict[str, Any]]] = {}
    for doc in docs:
        out.setdefault(doc["message"].split("-", 1)[0], []).append(doc)
    return out


def without_stamp(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in d.items() if k != "@timestamp"} for d in docs]


def test_native_route_gives_the_event_paths_documents(tmp_path: Path) -> None:
    native, native_log = run_logpipe(tmp_path, native_route=True)
    plain, plain_log = run_logpipe(tmp_path, native_route=False)
    assert ROUTE_LOG in native_log
    assert ROUTE_LOG not in plain_log

    for docs in (native, plain):
        assert all(STAMP.match(d["@timestamp"]) for d in docs), [d["@timestamp"] for d in docs[:3]]
        groups = by_connection(docs)
        assert set(groups) == {"big", "utf", "long", "vt", "slow", "cut"}
        # Every line once, in the order its connection sent it.
        for conn, got in groups.items():
            seqs = [int(re.match(r"\w+-(\d+)", d["message"]).group(1)) for d in got]  # type: ignore[union-attr]
            assert seqs == list(range(len(seqs))), conn
        assert len(groups["big"]) == 600 and len(groups["slow"]) == 20

    native_groups, plain_groups = by_connection(native), by_connection(plain)
    for conn in plain_groups:
        assert without_stamp(native_groups[conn]) == without_stamp(plain_groups[conn]), conn

    # What the event path makes of the odd lines, which the route has to keep.
    utf = native_groups["utf"]
    assert utf[1]["tags"] == ["_utf8error"] and "\ufffd\ufffd" in utf[1]["message"]
    assert utf[1]["level"] == "INFO" and utf[2]["rest"] == "fine é"
    long = native_groups["long"]
    assert long[1]["tags"] == ["_line_too_long"] and len(long[1]["message"].encode()) == MAX_LINE
    assert "tags" not in long[0] and long[2]["rest"] == "after"
    big = native_groups["big"]
    assert big[1] == {**big[1], "conn": "big", "seq": "1", "level": "INFO"}
    assert big[2]["tags"] == ["_grokparsefailure"] and "level" not in big[2]
    assert not any(d["message"].endswith("\r") for d in big)
    assert native_groups["slow"][0]["rest"] == "written in pieces é 😀 end"
    assert native_groups["cut"][2]["message"] == "cut-2 INFO half a li"
    assert native_groups["vt"][0]["rest"] == "vertical tab"


def test_native_module_is_installed_in_ci() -> None:
    if os.environ.get("CI") != "true":
        pytest.skip("CI installs the native module; elsewhere it is optional")
    import logpipe_native

    assert logpipe_native.count_lines(b"a\nb") == 2
