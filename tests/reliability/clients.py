"""Well-behaved senders for the scenarios: a Beats client, an HTTP client, a Kafka producer.

Each one behaves as a careful production shipper does: it keeps a record as
"sent" only once the receiver acknowledged it, retries what was not, and
counts what happened on the way (reconnects, refusals, 429/503 answers), so
the scenario can assert on the client's experience as well as on the ledger.
"""
from __future__ import annotations

import asyncio
import struct
import time
import zlib
from collections import Counter
from typing import Any

import orjson

from logpipe.generate.traffic import Record

TIMESTAMP = "2026-01-01T00:00:00.000Z"


def as_document(r: Record) -> dict[str, Any]:
    """What a service posts: app logs as objects, raw lines as ``message``; always a
    ``@timestamp`` of its own (as shippers send), so a resent event is the same document."""
    doc = dict(r.as_object())
    doc.setdefault("@timestamp", TIMESTAMP)
    return doc


def kafka_value(r: Record) -> bytes:
    return orjson.dumps(as_document(r))


def beats_document(r: Record, host: str = "gm-node-1") -> bytes:
    """A Filebeat event: the raw line (or JSON text) in ``message`` plus Beats metadata."""
    return orjson.dumps({
        "@timestamp": TIMESTAMP, "message": r.as_text(),
        "log": {"file": {"path": "/var/log/containers/graphmemory.log"}, "offset": r.seq},
        "host": {"name": host}, "input": {"type": "filestream"},
        "agent": {"type": "filebeat", "version": "9.0.0", "name": host}, "ecs": {"version": "8.0.0"},
    })


# --- Lumberjack v2 ----------------------------------------------------------------------
def encode_window(payloads: list[bytes], *, compress: bool = True) -> bytes:
    frames = b"".join(b"2J" + struct.pack(">II", i, len(p)) + p for i, p in enumerate(payloads, 1))
    if compress:
        packed = zlib.compress(frames, 3)
        frames = b"2C" + struct.pack(">I", len(packed)) + packed
    return b"2W" + struct.pack(">I", len(payloads)) + frames


class BeatsClient:
    """Sends one window at a time and waits for its ACK, like Filebeat with pipelining 0.

    An ACK of 0 (or below the window's size) is a keepalive: the wait starts over.
    No answer for ``ack_timeout`` (Filebeat's default is 30 s) or a dropped connection
    means reconnect and resend the window; both are counted.
    """

    def __init__(self, port: int, *, host: str = "127.0.0.1", ack_timeout: float = 30.0) -> None:
        self.host = host
        self.port = port
        self.ack_timeout = ack_timeout
        self.reconnects = 0
        self.keepalives = 0
        self.windows = 0
        self.longest_wait = 0.0
        self._connected_once = False
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    async def send(self, payloads: list[bytes], *, compress: bool = True) -> None:
        frame = encode_window(payloads, compress=compress)
        while True:
            try:
                if self._writer is None:
                    if self._connected_once:
                        self.reconnects += 1
                    await self._connect()
                    self._connected_once = True
                assert self._writer is not None and self._reader is not None
                self._writer.write(frame)
                await self._writer.drain()
                started = time.monotonic()
                while True:
                    header = await asyncio.wait_for(self._reader.readexactly(6), self.ack_timeout)
                    if header[:2] != b"2A":
                        raise ConnectionError(f"unexpected frame {header!r}")
                    (seq,) = struct.unpack(">I", header[2:])
                    if seq >= len(payloads):
                        self.longest_wait = max(self.longest_wait, time.monotonic() - started)
                        self.windows += 1
                        return
                    self.keepalives += 1
            except (OSError, asyncio.IncompleteReadError, TimeoutError, ConnectionError):
                self.close()
                await asyncio.sleep(0.5)


# --- HTTP ---------------------------------------------------------------------------------
class HttpSender:
    """POSTs NDJSON and retries until a 2xx, honouring Retry-After on 429/503."""

    def __init__(self, url: str, *, token: str | None = None, timeout: float = 120.0) -> None:
        self.url = url
        self.token = token
        self.timeout = timeout
        self.statuses: Counter[int] = Counter()
        #: Seconds from sending to a 429/503 answer, one entry per such answer.
        self.refusal_latency: list[float] = []
        self.retry_after: set[str] = set()
        self.refused_connections = 0
        self.dropped_connections = 0
        self._session: Any = None

    async def __aenter__(self) -> HttpSender:
        import aiohttp

        headers = {"Content-Type": "application/x-ndjson"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        self._session = aiohttp.ClientSession(headers=headers,
                                              timeout=aiohttp.ClientTimeout(total=self.timeout))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._session.close()

    async def send(self, records: list[Record]) -> None:
        """Return once the input answered 2xx for the whole body."""
        import aiohttp

        body = b"".join(orjson.dumps(as_document(r)) + b"\n" for r in records)
        while True:
            started = time.monotonic()
            try:
                async with self._session.post(self.url, data=body) as resp:
                    await resp.read()
                    self.statuses[resp.status] += 1
                    if 200 <= resp.status < 300:
                        return
                    if resp.status in (429, 503):
                        self.refusal_latency.append(time.monotonic() - started)
                        self.retry_after.add(resp.headers.get("Retry-After", ""))
                        await asyncio.sleep(min(float(resp.headers.get("Retry-After") or 1), 1.0))
                        continue
                    raise AssertionError(f"HTTP input answered {resp.status}: {await resp.text()}")
            except aiohttp.ClientConnectorError as exc:
                if isinstance(exc.os_error, ConnectionRefusedError):
                    self.refused_connections += 1
                else:
                    self.dropped_connections += 1
                await asyncio.sleep(0.2)
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
                self.dropped_connections += 1
                await asyncio.sleep(0.2)
