"""The ``http`` input: events POSTed as JSON, NDJSON or text lines.

A request's events form one batch; the response tells the sender what became of
them (200 once delivered or dead-lettered, 202 once queued with ``response_on:
accept``, 429/503 when full or an output wants them again, 422 with the reasons
when an output refused them for good and no dead-letter queue took them, 4xx
when the request itself is wrong), so a sender that retries on
429/503 and on no answer gets at-least-once delivery.
"""
from __future__ import annotations

import asyncio

from logpipe.core.plugin import Input, InputContext
from logpipe.inputs.http.config import HttpConfig
from logpipe.inputs.http.server import HttpServer


class HttpInput(Input):
    Config = HttpConfig
    config: HttpConfig

    #: The port actually listened on (differs from ``port`` when that is 0).
    bound_port: int | None = None
    _server: HttpServer | None = None

    async def start(self) -> None:
        self._server = HttpServer(self.config, self.log)
        await self._server.listen()
        self.bound_port = self._server.port

    @property
    def server(self) -> HttpServer:
        assert self._server is not None, "start() first"
        return self._server

    async def run(self, ctx: InputContext) -> None:
        server = self.server
        server.attach(ctx)
        try:
            await ctx.stopping.wait()
        except asyncio.CancelledError:
            await server.close()
            raise
        settings = self.context.settings
        await server.drain(getattr(settings, "shutdown_timeout", 30.0))

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.close()
