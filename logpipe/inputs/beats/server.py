"""The listening socket and the set of live Beats connections.

Listening starts in the input's ``start()`` so the port is known (and taken)
before the pipeline reports itself started; windows that arrive before the
input's ``run()`` hands over the pipeline context wait in their connection's
backlog. On shutdown the server stops accepting, stops reading every
connection, waits until each connection's submitted windows are settled and
acknowledged, then closes them; half-received windows are dropped unacknowledged
and the Beats resend them elsewhere.
"""
from __future__ import annotations

import asyncio
import logging

from logpipe.core.plugin import InputContext
from logpipe.errors import LogpipeError
from logpipe.inputs.beats.config import BeatsConfig
from logpipe.inputs.beats.connection import BeatsConnection
from logpipe.net.tls import server_context


class BeatsServer:
    def __init__(self, config: BeatsConfig, log: logging.Logger) -> None:
        self.config = config
        self.log = log
        self.limits = config.limits()
        self.connections: set[BeatsConnection] = set()
        self.ctx: InputContext | None = None
        self.draining = False
        self.port: int | None = None
        self.refused = 0
        self._ready = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._refusals_logged_at = -1e9

    async def listen(self) -> None:
        cfg = self.config
        ssl_ctx = server_context(cfg)
        loop = asyncio.get_running_loop()
        try:
            self._server = await loop.create_server(
                lambda: BeatsConnection(self), cfg.host, cfg.port, reuse_port=cfg.reuse_port,
                ssl=ssl_ctx, ssl_handshake_timeout=cfg.ssl_handshake_timeout if ssl_ctx else None,
                backlog=cfg.backlog)
        except OSError as exc:
            raise LogpipeError(f"beats input cannot listen on {cfg.host}:{cfg.port}: "
                               f"{exc.strerror or exc}") from None
        self.port = self._server.sockets[0].getsockname()[1]
        self.log.info("listening for Beats on %s:%d%s", cfg.host, self.port,
                      " with TLS" if ssl_ctx else "")

    def attach(self, ctx: InputContext) -> None:
        self.ctx = ctx
        self._ready.set()

    async def context(self) -> InputContext:
        await self._ready.wait()
        assert self.ctx is not None
        return self.ctx

    # --- connection bookkeeping ------------------------------------------------------
    def admit(self, conn: BeatsConnection) -> bool:
        if len(self.connections) >= self.config.max_connections:
            self.refused += 1
            now = asyncio.get_running_loop().time()
            if now - self._refusals_logged_at >= 1.0:  # one line a second, not one per client
                self._refusals_logged_at = now
                self.log.warning("refusing beats connection from %s: max_connections (%d) reached "
                                 "(%d refused so far)", conn.peer, self.config.max_connections,
                                 self.refused)
            return False
        self.connections.add(conn)
        return True

    def forget(self, conn: BeatsConnection) -> None:
        self.connections.discard(conn)

    # --- shutdown ------------------------------------------------------------------
    async def drain(self) -> None:
        """Stop accepting and reading; wait for in-flight windows to be acknowledged; close."""
        self.draining = True
        if self._server is not None:
            self._server.close()
        conns = list(self.connections)
        for conn in conns:
            conn.stop_reading()
        try:
            if conns:
                await asyncio.gather(*(c.quiet() for c in conns))
        except asyncio.CancelledError:
            self.abort_all()
            raise
        for conn in list(self.connections):
            conn.close(None)

    def abort_all(self) -> None:
        self.draining = True
        if self._server is not None:
            self._server.close()
        for conn in list(self.connections):
            if conn.transport is not None:
                conn.closed = True
                conn.transport.abort()
        self.connections.clear()
