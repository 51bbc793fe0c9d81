"""The ``beats`` input: a Lumberjack v2 server for Filebeat and the other Beats.

Each window a Beat sends becomes one batch; the Beat gets the window's ACK
only once every output has the events, so a crash or a failed output means a
resend, never a loss. While a window waits (a slow Elasticsearch), keepalive
ACKs stop the Beat from timing out. See ``protocol.py`` for the wire format and
``connection.py`` for flow control.
"""
from __future__ import annotations

import asyncio

from logpipe.core.plugin import Input, InputContext
from logpipe.inputs.beats.config import BeatsConfig
from logpipe.inputs.beats.server import BeatsServer


class BeatsInput(Input):
    Config = BeatsConfig
    config: BeatsConfig

    #: The port actually listened on (differs from ``port`` when that is 0).
    bound_port: int | None = None
    _server: BeatsServer | None = None

    async def start(self) -> None:
        self._server = BeatsServer(self.config, self.log)
        await self._server.listen()
        self.bound_port = self._server.port

    @property
    def server(self) -> BeatsServer:
        assert self._server is not None, "start() first"
        return self._server

    async def run(self, ctx: InputContext) -> None:
        server = self.server
        server.attach(ctx)
        try:
            await ctx.stopping.wait()
        except asyncio.CancelledError:
            server.abort_all()
            raise
        await server.drain()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.abort_all()
