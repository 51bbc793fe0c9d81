"""The status endpoint of a running instance: /metrics, /healthz, /readyz, /stats.

Served by the supervisor (one port per pod, whatever the number of workers):

- ``/healthz``: 200 while the process serves requests (the liveness probe).
- ``/readyz``: 200 only when every worker runs its pipeline and every output
  says it is reachable; 503 with the reason otherwise, and from the moment a
  shutdown starts, so a load balancer stops sending before listeners close.
- ``/metrics``: Prometheus text format, figures summed over the workers.
- ``/stats``: the same figures as JSON, with each worker's pid and state
  (what ``logpipe top`` reads).

The server only renders; what it renders comes from callables the supervisor
passes in, so it can be tested with plain functions.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Mapping

import orjson
from aiohttp import web

log = logging.getLogger("logpipe.health")


class StatusServer:
    def __init__(self, host: str, port: int, *, status: Callable[[], Mapping[str, Any]],
                 ready: Callable[[], tuple[bool, str]], metrics: Callable[[], bytes]) -> None:
        self.host = host
        self.port = port
        self._status = status
        self._ready = ready
        self._metrics = metrics
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/metrics", self._metrics_page)
        app.router.add_get("/stats", self._stats)
        app.router.add_get("/", self._index)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        if self.port == 0:
            server = getattr(site, "_server", None)
            sockets = getattr(server, "sockets", None) or []
            if sockets:
                self.port = sockets[0].getsockname()[1]
        log.info("status endpoint on http://%s:%d (/metrics /healthz /readyz /stats)", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _index(self, _request: web.Request) -> web.Response:
        return web.Response(text="logpipe: /metrics /healthz /readyz /stats\n")

    async def _healthz(self, _request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _readyz(self, _request: web.Request) -> web.Response:
        ok, reason = self._ready()
        return web.json_response({"ready": ok, "reason": reason}, status=200 if ok else 503)

    async def _metrics_page(self, _request: web.Request) -> web.Response:
        from prometheus_client import CONTENT_TYPE_LATEST

        return web.Response(body=self._metrics(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _stats(self, _request: web.Request) -> web.Response:
        body = orjson.dumps(self._status(), option=orjson.OPT_NON_STR_KEYS)
        return web.Response(body=body, content_type="application/json")
