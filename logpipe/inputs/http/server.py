"""The HTTP server: one handler, no routing or middleware, answers that mean something.

Per request: health check, method and path, credentials, then the body (size
limit, content decoding, codec), then one batch for the whole body. When the
queue is full the request waits for room, in turn with the other inputs, up to
``full_wait`` seconds (at most ``max_pending_requests`` requests holding at most
``max_pending_bytes`` of bodies wait, since each holds its decoded events), and is answered 429 (or 503 if configured, with
Retry-After) if none came. Once queued, the answer waits until every output has
the events (200) or, with ``response_on: accept``, only until they are queued (202).

On shutdown new requests get 503 while the ones in flight finish and get their
answers; then the listener and idle connections close.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from aiohttp import web
from aiohttp.streams import StreamReader

from logpipe.core.plugin import InputContext
from logpipe.core.queue import QueueClosed
from logpipe.errors import LogpipeError
from logpipe.inputs.http.auth import Authenticator
from logpipe.inputs.http.config import HttpConfig
from logpipe.inputs.http.decode import BodyError, decode, decompress, pick_codec
from logpipe.inputs.http.events import request_events
from logpipe.net.tls import server_context

#: Never copied to events, whatever metadata_headers says.
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
#: Errors listed in a response at most (the count is always given).
_MAX_LISTED = 20


def reply(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json",
                        headers=headers)


async def read_body(stream: StreamReader, limit: int) -> bytes | None:
    """The whole body, or None as soon as it passes ``limit`` bytes."""
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = await stream.readany()
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > limit:
            return None
        chunks.append(chunk)


class HttpServer:
    def __init__(self, config: HttpConfig, log: logging.Logger) -> None:
        self.config = config
        self.log = log
        self.auth = Authenticator(config.auth_token, config.user, config.password)
        self.ctx: InputContext | None = None
        self.stopping = False
        self.inflight = 0
        #: Requests waiting for room in a full queue, and the bytes of their bodies.
        self.waiting = 0
        self.waiting_bytes = 0
        self.port: int | None = None
        self._ready = asyncio.Event()
        self._quiet = asyncio.Event()
        self._quiet.set()
        self._paths = frozenset(config.paths) if config.paths is not None else None
        self._copy_headers = [h for h in config.metadata_headers if h not in _SECRET_HEADERS]
        self._web: web.Server | None = None
        self._server: asyncio.Server | None = None

    async def listen(self) -> None:
        cfg = self.config
        ssl_ctx = server_context(cfg)
        self._web = web.Server(self.handle, access_log=None, auto_decompress=False,
                               keepalive_timeout=cfg.keepalive_timeout)
        loop = asyncio.get_running_loop()
        try:
            self._server = await loop.create_server(
                self._web, cfg.host, cfg.port, reuse_port=cfg.reuse_port, ssl=ssl_ctx,
                ssl_handshake_timeout=cfg.ssl_handshake_timeout if ssl_ctx else None, backlog=cfg.backlog)
        except OSError as exc:
            raise LogpipeError(f"http input cannot listen on {cfg.host}:{cfg.port}: "
                               f"{exc.strerror or exc}") from None
        self.port = self._server.sockets[0].getsockname()[1]
        self.log.info("listening for HTTP on %s:%d%s", cfg.host, self.port, " with TLS" if ssl_ctx else "")

    def attach(self, ctx: InputContext) -> None:
        self.ctx = ctx
        self._ready.set()

    # --- requests --------------------------------------------------------------------
    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        cfg = self.config
        method = request.method
        path = request.path
        if path == cfg.health_path and method in ("GET", "HEAD"):
            if self.stopping:
                return reply(503, {"status": "stopping"}, {"Retry-After": str(cfg.retry_after)})
            return reply(200, {"status": "ok"})
        if method not in ("POST", "PUT"):
            return reply(405, {"error": f"{method} is not accepted here; POST the events"},
                         {"Allow": "POST, PUT"})
        if self._paths is not None and path not in self._paths:
            return reply(404, {"error": f"no input listens at {path}"})
        if not self.auth.check(request.headers.get("Authorization")):
            return reply(401, {"error": "missing or wrong credentials"},
                         {"WWW-Authenticate": self.auth.challenge})
        if self.stopping:
            return self._unavailable("the input is shutting down")
        self.inflight += 1
        self._quiet.clear()
        try:
            return await self._ingest(request)
        finally:
            self.inflight -= 1
            if not self.inflight:
                self._quiet.set()

    async def _ingest(self, request: web.BaseRequest) -> web.StreamResponse:
        cfg = self.config
        length = request.content_length
        if length is not None and length > cfg.max_body_bytes:
            return self._too_large(length)
        body = await read_body(request.content, cfg.max_body_bytes)
        if body is None:
            return self._too_large(None)
        headers = request.headers
        try:
            body = decompress(body, headers.get("Content-Encoding", ""), cfg.max_decompressed_bytes)
            decoded = decode(body, pick_codec(cfg.codec, headers.get("Content-Type", ""), body))
        except BodyError as exc:
            return reply(exc.status, {"error": exc.message})
        errors = decoded.errors
        if errors and not (cfg.ndjson_partial and decoded.codec == "ndjson" and decoded.docs):
            return reply(400, {"error": f"invalid {decoded.codec} body", "failed": len(errors),
                               "details": errors[:_MAX_LISTED]})
        if not decoded.docs:
            return reply(200, {"accepted": 0})
        meta: dict[str, Any] = {"remote_address": request.remote, "method": request.method,
                                "path": request.path}
        if self._copy_headers:
            meta["headers"] = {h: headers[h] for h in self._copy_headers if h in headers}
        events = request_events(decoded.docs, meta)
        ctx = self.ctx if self.ctx is not None else await self._context()
        try:
            size = len(body)
            if cfg.full_wait > 0 and self.waiting < cfg.max_pending_requests and (
                    not self.waiting or self.waiting_bytes + size <= cfg.max_pending_bytes):
                self.waiting += 1
                self.waiting_bytes += size
                try:
                    batch = await ctx.submit_within(events, cfg.full_wait, size=size)
                finally:
                    self.waiting -= 1
                    self.waiting_bytes -= size
            else:
                batch = ctx.try_submit(events, size=size)
        except QueueClosed:
            return self._unavailable("the pipeline is shutting down")
        if batch is None:
            return reply(cfg.full_status, {"error": "the pipeline is full; retry later"},
                         {"Retry-After": str(cfg.retry_after)})
        answer: dict[str, Any] = {"accepted": len(events)}
        if errors:
            answer["failed"] = len(errors)
            answer["details"] = errors[:_MAX_LISTED]
        if cfg.response_on == "accept":
            return reply(202, answer)
        if await batch.wait():
            if batch.dead_lettered:
                answer["dead_lettered"] = batch.dead_lettered
            return reply(200, answer)
        if not batch.retriable:
            # Refused for good and no dead-letter queue took them: sending again cannot help.
            return reply(422, {"error": "events were rejected by an output",
                               "rejected": batch.rejected[:_MAX_LISTED]})
        return reply(503, {"error": f"the events were not delivered: {batch.reason or 'output failed'}"},
                     {"Retry-After": str(cfg.retry_after)})

    async def _context(self) -> InputContext:
        await self._ready.wait()
        assert self.ctx is not None
        return self.ctx

    def _too_large(self, length: int | None) -> web.Response:
        size = f"{length} bytes" if length is not None else "the body"
        return reply(413, {"error": f"{size} is over max_body_bytes ({self.config.max_body_bytes})"},
                     {"Connection": "close"})

    def _unavailable(self, why: str) -> web.Response:
        return reply(503, {"error": why}, {"Retry-After": str(self.config.retry_after), "Connection": "close"})

    # --- shutdown ------------------------------------------------------------------
    async def drain(self, timeout: float = 30.0) -> None:
        """Refuse new requests, let in-flight ones be answered, then close everything."""
        self.stopping = True
        try:
            await self._quiet.wait()
        except asyncio.CancelledError:
            await self.close(0.0)
            raise
        await self.close(timeout)

    async def close(self, timeout: float = 0.0) -> None:
        self.stopping = True
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._web is not None:
            web_server, self._web = self._web, None
            await asyncio.sleep(0)  # let requests already accepted start being handled
            web_server.pre_shutdown()  # idle keep-alive connections close now
            await web_server.shutdown(timeout)
