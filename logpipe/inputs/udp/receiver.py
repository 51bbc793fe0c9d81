"""Datagram sockets and the small queue between them and the pipeline (udp and syslog inputs).

UDP has no acknowledgement and no flow control, so the receiver reads whatever
the pipeline's state and keeps up to ``queue_size`` datagrams while the pipeline
is full; beyond that it drops and counts them (``dropped``), logging at most
once every few seconds. ``drain`` turns queued datagrams into events with the
caller's ``decode`` and submits them in batches.
"""
from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections import deque
from typing import Callable

from logpipe.core.event import Event
from logpipe.core.plugin import InputContext

Decode = Callable[[bytes, str], list[Event]]
_BATCH = 1000


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, owner: DatagramReceiver) -> None:
        self.owner = owner

    def datagram_received(self, data: bytes, addr: tuple[str, int] | tuple[str, int, int, int]) -> None:
        self.owner.received(data, addr[0])

    def error_received(self, exc: Exception) -> None:  # ICMP errors and the like: nothing to stop for
        self.owner.log.debug("%s: %s", self.owner.name, exc)


class DatagramReceiver:
    def __init__(self, name: str, *, queue_size: int, log: logging.Logger) -> None:
        self.name = name
        self.queue_size = queue_size
        self.log = log
        self.pending: deque[tuple[bytes, str]] = deque()
        self.wake = asyncio.Event()
        self.count = 0
        self.dropped = 0
        self._last_drop_log = 0.0
        self.transports: list[asyncio.DatagramTransport] = []
        self.port = 0

    async def bind(self, host: str, port: int, *, sockets: int = 1, reuse_port: bool = True,
                   receive_buffer_bytes: int | None = None) -> int:
        """Open ``sockets`` sockets on one port (the first picks it when ``port`` is 0)."""
        loop = asyncio.get_running_loop()
        for _ in range(sockets):
            sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
            if (reuse_port or sockets > 1) and hasattr(socket, "SO_REUSEPORT"):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if receive_buffer_bytes:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer_bytes)
            sock.bind((host, port))
            sock.setblocking(False)
            port = sock.getsockname()[1]
            transport, _ = await loop.create_datagram_endpoint(lambda: _Protocol(self), sock=sock)
            self.transports.append(transport)
        self.port = port
        return port

    def received(self, data: bytes, sender: str) -> None:
        self.count += 1
        if len(self.pending) >= self.queue_size:
            self.dropped += 1
            now = time.monotonic()
            if now - self._last_drop_log > 5:
                self._last_drop_log = now
                self.log.warning("%s: pipeline full, %d datagrams dropped so far", self.name, self.dropped)
            return
        self.pending.append((data, sender))
        self.wake.set()

    async def drain(self, ctx: InputContext, decode: Decode) -> None:
        """Submit queued datagrams as events until the pipeline stops."""
        stop = asyncio.create_task(ctx.stopping.wait())
        try:
            while not ctx.stopping.is_set():
                if not self.pending:
                    self.wake.clear()
                    wake = asyncio.create_task(self.wake.wait())
                    await asyncio.wait({wake, stop}, return_when=asyncio.FIRST_COMPLETED)
                    wake.cancel()
                    continue
                events: list[Event] = []
                size = 0
                pending = self.pending
                while pending and len(events) < _BATCH:
                    data, sender = pending.popleft()
                    size += len(data)
                    events.extend(decode(data, sender))
                if events:
                    await ctx.submit(events, size=size)
        finally:
            stop.cancel()
        self._last_batch(ctx, decode)

    def _last_batch(self, ctx: InputContext, decode: Decode) -> None:
        """At shutdown: stop receiving, and hand what is queued to the pipeline if it has room."""
        self.close()
        events: list[Event] = []
        size = 0
        count = len(self.pending)
        while self.pending:
            data, sender = self.pending.popleft()
            size += len(data)
            events.extend(decode(data, sender))
        if events and ctx.try_submit(events, size=size) is None:
            self.dropped += count
            self.log.warning("%s: pipeline full at shutdown, %d datagrams dropped", self.name, count)

    def close(self) -> None:
        for t in self.transports:
            t.close()
        self.transports = []
