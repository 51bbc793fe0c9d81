"""``syslog`` input: RFC 3164 and RFC 5424 messages over TCP (optionally TLS) and UDP.

TCP connections are framed per RFC 6587 (octet counting or newlines, see
:mod:`framing`); each read's complete messages go to the pipeline as one batch,
and a connection is not read while its batch waits for queue space, which is
TCP's backpressure. UDP datagrams are one message each and share the udp
input's receiver. A message that is too long, not UTF-8 or not syslog at all
still becomes an event, tagged; a client that stalls holds only its own
connection, and is closed after ``idle_timeout``.
"""
from __future__ import annotations

import asyncio
import logging
import socket

from logpipe.core.plugin import Input, InputContext
from logpipe.core.zones import zone_of
from logpipe.inputs.syslog.config import SyslogConfig
from logpipe.inputs.syslog.events import EventMaker
from logpipe.inputs.syslog.framing import Framer
from logpipe.inputs.udp.receiver import DatagramReceiver
from logpipe.core.event import Event
from logpipe.net.tls import server_context

log = logging.getLogger("logpipe.input.syslog")

_READ = 64 * 1024


class SyslogInput(Input):
    Config = SyslogConfig
    config: SyslogConfig

    async def start(self) -> None:
        cfg = self.config
        self.maker = EventMaker(cfg, zone_of(cfg.timezone))
        self._ctx: InputContext | None = None
        self._ready = asyncio.Event()
        self._conns: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None
        self.receiver: DatagramReceiver | None = None
        port = cfg.port
        if "tcp" in cfg.protocols:
            sock = socket.socket(socket.AF_INET6 if ":" in cfg.host else socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if cfg.reuse_port and hasattr(socket, "SO_REUSEPORT"):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((cfg.host, port))
            sock.listen(512)
            sock.setblocking(False)
            port = sock.getsockname()[1]
            self._server = await asyncio.start_server(
                self._serve, sock=sock, ssl=server_context(cfg),
                ssl_handshake_timeout=cfg.ssl_handshake_timeout if cfg.ssl_enabled else None)
        if "udp" in cfg.protocols:
            self.receiver = DatagramReceiver(f"syslog input {self.id}", queue_size=2000, log=log)
            port = await self.receiver.bind(cfg.host, port, reuse_port=cfg.reuse_port)
        self.bound_port = port

    def _datagram(self, data: bytes, sender: str) -> list[Event]:
        limit = self.config.max_message_bytes
        cut = len(data) > limit
        return [self.maker.make(data[:limit] if cut else data, sender, cut)] if data.strip() else []

    async def run(self, ctx: InputContext) -> None:
        self._ctx = ctx
        self._ready.set()
        if self.receiver is not None:
            await self.receiver.drain(ctx, self._datagram)
        else:
            await ctx.stopping.wait()
        if self._server is not None:
            self._server.close()
        for task in list(self._conns):
            task.cancel()
        await asyncio.gather(*self._conns, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        if len(self._conns) >= self.config.max_connections:
            log.warning("syslog input %s: connection limit reached, closing a new connection", self.id)
            writer.close()
            return
        self._conns.add(task)
        peer = writer.get_extra_info("peername")
        sender = peer[0] if peer else ""
        try:
            await self._ready.wait()
            await self._read(reader, sender)
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            pass
        finally:
            self._conns.discard(task)
            writer.close()

    async def _read(self, reader: asyncio.StreamReader, sender: str) -> None:
        assert self._ctx is not None
        ctx = self._ctx
        framer = Framer(self.config.max_message_bytes)
        make = self.maker.make
        while True:
            chunk = await asyncio.wait_for(reader.read(_READ), self.config.idle_timeout)
            if not chunk:
                break
            events = [make(frame, sender, cut) for frame, cut in framer.feed(chunk)]
            if events:
                await ctx.submit(events, size=len(chunk))
        rest = framer.rest()
        if rest.strip():
            await ctx.submit([make(rest, sender)], size=len(rest))

    async def stop(self) -> None:
        if self.receiver is not None:
            self.receiver.close()
