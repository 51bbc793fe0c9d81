"""Where generated traffic goes: stdout, a file, or one of the pipeline's inputs.

Each sink takes a list of records and returns once the receiver has taken them
(HTTP response, Beats ACK, Kafka acks, Redis reply), so the generator's rate is
what the receiver really accepted.
"""
from __future__ import annotations

import asyncio
import struct
import sys
import zlib
from typing import Any, Protocol
from urllib.parse import parse_qs, urlparse

import orjson

from logpipe.generate.traffic import Record


class Sink(Protocol):
    async def open(self) -> None: ...
    async def send(self, records: list[Record]) -> None: ...
    async def close(self) -> None: ...


class StreamSink:
    def __init__(self, path: str | None) -> None:
        self.path = path
        self._f: Any = None

    async def open(self) -> None:
        self._f = open(self.path, "ab") if self.path else sys.stdout.buffer

    async def send(self, records: list[Record]) -> None:
        self._f.write(("\n".join(r.as_text() for r in records) + "\n").encode())

    async def close(self) -> None:
        self._f.flush()
        if self.path:
            self._f.close()


class HttpSink:
    """NDJSON POSTs; retries politely on 429/503 with the server's Retry-After."""

    def __init__(self, url: str, token: str | None = None) -> None:
        self.url = url
        self.token = token
        self._session: Any = None

    async def open(self) -> None:
        import aiohttp
        headers = {"Content-Type": "application/x-ndjson"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        self._session = aiohttp.ClientSession(headers=headers)

    async def send(self, records: list[Record]) -> None:
        body = b"\n".join(orjson.dumps(r.as_object()) for r in records) + b"\n"
        while True:
            async with self._session.post(self.url, data=body) as resp:
                if resp.status in (429, 503):
                    await asyncio.sleep(float(resp.headers.get("Retry-After", "1")))
                    continue
                if resp.status >= 300:
                    raise RuntimeError(f"HTTP input answered {resp.status}: {await resp.text()}")
                return

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


class BeatsSink:
    """A small Lumberjack v2 sender: one compressed window per send, waits for its ACK."""

    def __init__(self, host: str, port: int, hostname: str = "gm-node-1") -> None:
        self.host = host
        self.port = port
        self.hostname = hostname
        self.seq_offset = 0
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)

    def _doc(self, r: Record) -> dict[str, Any]:
        self.seq_offset += 1
        if r.doc is not None:
            message = orjson.dumps(r.doc).decode()
            path = f"/var/log/containers/{r.doc['service']['name']}.log"
        else:
            message = r.line or ""
            path = "/var/log/nginx/access.log" if r.kind == "nginx" else "/var/log/containers/graphmemory-api.log"
        return {"message": message, "log": {"file": {"path": path}, "offset": self.seq_offset},
                "host": {"name": self.hostname}, "input": {"type": "filestream"},
                "agent": {"type": "filebeat", "version": "9.0.0", "name": self.hostname},
                "ecs": {"version": "8.0.0"}}

    async def send(self, records: list[Record]) -> None:
        assert self._reader is not None and self._writer is not None
        frames = bytearray()
        for i, r in enumerate(records, 1):
            payload = orjson.dumps(self._doc(r))
            frames += b"2J" + struct.pack(">II", i, len(payload)) + payload
        packed = zlib.compress(bytes(frames), 3)
        self._writer.write(b"2W" + struct.pack(">I", len(records)) + b"2C" + struct.pack(">I", len(packed)) + packed)
        await self._writer.drain()
        while True:
            header = await self._reader.readexactly(6)
            if header[:2] != b"2A":
                raise RuntimeError(f"unexpected frame from Beats input: {header!r}")
            (acked,) = struct.unpack(">I", header[2:])
            if acked == len(records):
                return

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            try:
                await self._writer.wait_closed()
            except OSError:
                pass


class KafkaSink:
    def __init__(self, bootstrap: str, topic: str) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self._producer: Any = None

    async def open(self) -> None:
        from aiokafka import AIOKafkaProducer
        self._producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all",
                                          linger_ms=5, max_batch_size=256 * 1024)
        await self._producer.start()

    async def send(self, records: list[Record]) -> None:
        futures = [await self._producer.send(self.topic, orjson.dumps(r.as_object())) for r in records]
        await asyncio.gather(*futures)

    async def close(self) -> None:
        if self._producer is not None:
            await self._producer.stop()


class RedisSink:
    def __init__(self, url: str, key: str) -> None:
        self.url = url
        self.key = key
        self._client: Any = None

    async def open(self) -> None:
        import redis.asyncio as aioredis
        self._client = aioredis.from_url(self.url)

    async def send(self, records: list[Record]) -> None:
        await self._client.rpush(self.key, *[orjson.dumps(r.as_object()) for r in records])

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()


def open_sink(target: str, *, token: str | None = None) -> Sink:
    """``-`` or ``stdout``; ``file:PATH``; ``http://...``; ``beats://host:port``;
    ``kafka://host:port/topic``; ``redis://host:port/db?key=name``."""
    if target in ("-", "stdout"):
        return StreamSink(None)
    if target.startswith("file:"):
        return StreamSink(target[5:])
    url = urlparse(target)
    if url.scheme in ("http", "https"):
        return HttpSink(target, token)
    if url.scheme == "beats":
        return BeatsSink(url.hostname or "127.0.0.1", url.port or 5044)
    if url.scheme == "kafka":
        return KafkaSink(f"{url.hostname or '127.0.0.1'}:{url.port or 9092}", url.path.strip("/") or "graphmemory-logs")
    if url.scheme in ("redis", "rediss"):
        key = parse_qs(url.query).get("key", ["graphmemory:logs"])[0]
        return RedisSink(target.split("?")[0], key)
    raise ValueError(f"unknown target {target!r}")
