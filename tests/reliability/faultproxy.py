"""A small asyncio TCP proxy that injects network faults between logpipe and a server.

It sits on a loopback port in front of Elasticsearch (or the bootstrap address
of Kafka) and behaves according to a mode that a test switches while traffic
flows:

- ``pass``: forward both ways, optionally with ``delay`` seconds added before
  each forwarded chunk and a ``bandwidth`` limit in bytes per second.
- ``blackhole``: accept connections and read what the client sends, but
  forward nothing and answer nothing (a node frozen by SIGSTOP, a dropped
  route). Connections already open stop forwarding too. When the mode changes
  back, every connection that lost bytes to the hole is reset: its byte stream
  is broken, and passing the rest on would hand the server half a request.
- ``refuse``: accept and close at once with a reset (a port nobody listens on,
  as seen by clients that already resolved the address).
- ``reset_after_forward``: forward the client's bytes, wait until the server
  starts answering (so it has done the work), then reset the client's
  connection instead of passing the answer on: the ambiguous failure where
  the request was applied but the client cannot know. ``arm_reset(n, match)``
  applies it to the next ``n`` requests whose bytes contain ``match``, after
  which the proxy passes traffic again.

Counters (connections, bytes each way, resets) let tests prove that the fault
they asked for really happened.
"""
from __future__ import annotations

import asyncio
import socket
import struct
from dataclasses import dataclass, field
from typing import Any

MODES = ("pass", "blackhole", "refuse", "reset_after_forward")
_KEEP: Any = object()
_CHUNK = 64 * 1024


@dataclass
class ProxyStats:
    connections: int = 0
    refused: int = 0
    resets_after_forward: int = 0
    bytes_up: int = 0
    bytes_down: int = 0
    blackholed_bytes: int = 0


def _hard_reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST rather than FIN (SO_LINGER 0), the way a crashed peer looks."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    writer.transport.abort()


@dataclass(eq=False)
class _Link:
    """One proxied connection: the client side and the server side."""

    client: asyncio.StreamWriter
    server: asyncio.StreamWriter | None = None
    #: Set when a request matching the reset rule went upstream on this link.
    reset_pending: bool = False
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


class FaultProxy:
    def __init__(self, upstream_host: str, upstream_port: int, *, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.host = host
        self.port = port
        self.mode = "pass"
        self.delay = 0.0
        self.bandwidth: float | None = None
        self.stats = ProxyStats()
        self._reset_budget = 0
        self._reset_match = b""
        self._links: set[_Link] = set()
        self._server: asyncio.AbstractServer | None = None
        self._mode_changed = asyncio.Event()

    # --- control ---------------------------------------------------------------------
    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def set(self, mode: str | None = None, *, delay: float | None = None,
            bandwidth: float | None = _KEEP) -> None:
        """Switch behaviour now; open connections follow the new mode from their next chunk.

        ``bandwidth`` in bytes per second; ``None`` lifts the limit, leaving it out keeps it.
        """
        if mode is not None:
            if mode not in MODES:
                raise ValueError(f"unknown mode {mode!r}")
            self.mode = mode
            if mode == "refuse":
                for link in list(self._links):
                    self._drop(link)
        if delay is not None:
            self.delay = delay
        if bandwidth is not _KEEP:
            self.bandwidth = bandwidth
        self._mode_changed.set()
        self._mode_changed = asyncio.Event()

    def arm_reset(self, count: int, match: bytes = b"") -> None:
        """Reset the client after forwarding each of the next ``count`` matching requests."""
        self._reset_budget = count
        self._reset_match = match
        self.set("reset_after_forward")

    def drop_connections(self) -> None:
        """Reset every open connection (a restart of the server, as the client sees it)."""
        for link in list(self._links):
            self._drop(link)

    # --- lifecycle -------------------------------------------------------------------
    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for link in list(self._links):
            self._drop(link)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> FaultProxy:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- connections -----------------------------------------------------------------
    def _drop(self, link: _Link) -> None:
        for task in link.tasks:
            task.cancel()
        _hard_reset(link.client)
        if link.server is not None:
            link.server.transport.abort()
        self._links.discard(link)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.stats.connections += 1
        if self.mode == "refuse":
            self.stats.refused += 1
            _hard_reset(writer)
            return
        link = _Link(writer)
        self._links.add(link)
        try:
            if self.mode == "blackhole":
                await self._swallow(reader)
                return
            try:
                up_reader, up_writer = await asyncio.open_connection(*self.upstream)
            except OSError:
                _hard_reset(writer)
                return
            link.server = up_writer
            up = asyncio.create_task(self._pump(reader, up_writer, link, upstream=True))
            down = asyncio.create_task(self._pump(up_reader, writer, link, upstream=False))
            link.tasks = [up, down]
            await asyncio.wait(link.tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._drop(link)

    async def _swallow(self, reader: asyncio.StreamReader) -> None:
        """Read and discard until the client gives up or the outage ends (then: reset)."""
        while self.mode == "blackhole":
            changed = asyncio.ensure_future(self._mode_changed.wait())
            read = asyncio.ensure_future(reader.read(_CHUNK))
            done, _ = await asyncio.wait({changed, read}, return_when=asyncio.FIRST_COMPLETED)
            changed.cancel()
            if read not in done:
                read.cancel()
                continue
            data = read.result()
            if not data:
                return
            self.stats.blackholed_bytes += len(data)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, link: _Link,
                    *, upstream: bool) -> None:
        while True:
            data = await reader.read(_CHUNK)
            if not data:
                try:
                    writer.write_eof()
                except (OSError, RuntimeError):
                    pass
                return
            if self.mode == "blackhole":
                self.stats.blackholed_bytes += len(data)
                await self._swallow(reader)
                return  # the stream lost bytes: the link is reset
            if upstream:
                if (self.mode == "reset_after_forward" and self._reset_budget > 0
                        and self._reset_match in data):
                    self._reset_budget -= 1
                    link.reset_pending = True
                    if self._reset_budget == 0:
                        self.mode = "pass"
                self.stats.bytes_up += len(data)
            else:
                if link.reset_pending:
                    # The server has answered, so it has done the work: cut the client off.
                    self.stats.resets_after_forward += 1
                    self._drop(link)
                    return
                self.stats.bytes_down += len(data)
            if self.delay:
                await asyncio.sleep(self.delay)
            if self.bandwidth:
                await asyncio.sleep(len(data) / self.bandwidth)
            writer.write(data)
            await writer.drain()
