"""Helpers for the Elasticsearch output, DLQ and setup tests (and benchmarks/bench_es.py).

- ``ecs_events``: realistic GraphMemory events as they leave the pipeline
  (ECS fields, geo, user agent, performance class, errors).
- ``Es``: a small async client for assertions (refresh, count, search, delete).
- ``EsProxy``: an HTTP proxy in front of Elasticsearch whose subclasses decide
  what to do with bulk requests; the reliability suite's ``BulkItemFaults`` is one.
- ``ThrottlingProxy``: an ``EsProxy`` that answers some bulk requests with 429
  and rewrites some bulk item results to 429, the way a node with a full write
  queue does.
"""
from __future__ import annotations

import gzip
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import aiohttp
import orjson
from aiohttp import web

from logpipe.core.event import Event

if TYPE_CHECKING:
    from logpipe.setup.resources import Resources

REPO = Path(__file__).resolve().parents[2]
COMPONENTS = ("graphmemory@settings", "graphmemory@mappings")

#: Headers that describe one connection, not the request: never copied across the proxy.
_HOP_HEADERS = {"host", "content-length", "content-encoding", "transfer-encoding", "connection"}

BASE_TIME = datetime(2025, 3, 14, 9, 0, 0, tzinfo=timezone.utc)
ROUTES = [("GET", "/api/v1/memories", 200), ("POST", "/api/v1/memories", 201),
          ("GET", "/api/v1/search", 200), ("GET", "/api/v1/graph/nodes", 200),
          ("POST", "/api/v1/auth/login", 401), ("GET", "/dashboard", 200), ("GET", "/healthz", 200)]
AGENTS = [("Mozilla/5.0 (X11; Linux x86_64) Chrome/124.0 Safari/537.36", "Chrome", "Linux", "desktop"),
          ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Mobile/15E148", "Mobile Safari", "iOS", "mobile"),
          ("python-httpx/0.27.0", "Other", "Other", "bot")]
GEO = [("US", "Ashburn", 39.0438, -77.4874), ("DE", "Frankfurt am Main", 50.1109, 8.6821),
       ("JP", "Tokyo", 35.6895, 139.6917), ("BR", "São Paulo", -23.5505, -46.6333)]
SERVICES = ["graphmemory-api", "graphmemory-dashboard", "graphmemory-analytics"]


def ecs_doc(i: int, rng: random.Random) -> dict[str, Any]:
    """Event ``i``: an access event with geo (public clients) or an application log."""
    ts = BASE_TIME + timedelta(milliseconds=37 * i)
    method, path, status = ROUTES[i % len(ROUTES)]
    ua, ua_name, os_name, device = AGENTS[i % len(AGENTS)]
    duration_ms = rng.uniform(2, 4000)
    perf = "fast" if duration_ms < 200 else "normal" if duration_ms < 1000 else \
        "slow" if duration_ms < 2000 else "critical"
    doc: dict[str, Any] = {
        "@timestamp": ts,
        "seq": i,
        "message": f'{method} {path} HTTP/1.1 {status} duration={duration_ms:.1f}ms',
        "service": {"name": SERVICES[i % len(SERVICES)], "environment": "production"},
        "trace": {"id": f"{rng.getrandbits(128):032x}"},
        "log": {"level": "error" if status >= 500 else "info", "logger": "uvicorn.access"},
        "event": {"dataset": "access", "category": ["web"], "duration": int(duration_ms * 1e6),
                  "outcome": "success" if status < 400 else "failure", "kind": "event"},
        "http": {"request": {"method": method}, "version": "1.1",
                 "response": {"status_code": status, "body": {"bytes": rng.randint(80, 90_000)}}},
        "url": {"original": f"{path}?page={i % 9}", "path": path, "query": f"page={i % 9}"},
        "user_agent": {"original": ua, "name": ua_name, "os": {"name": os_name}, "device": {"type": device}},
        "performance": {"class": perf, "budget_ms": 2000, "slo_breach": duration_ms > 2000},
        "tags": ["graphmemory", "access"],
    }
    if i % 4 == 0:  # a private client: no geo lookup
        doc["source"] = {"ip": f"10.{i % 200}.{(i // 200) % 250}.{i % 250 + 1}", "address": "internal-lb"}
    else:
        country, city, lat, lon = GEO[i % len(GEO)]
        doc["source"] = {"ip": f"{(i % 200) + 23}.{(i // 7) % 250}.{(i // 3) % 250}.{i % 250 + 1}",
                         "address": f"client-{i % 50}.example.net",
                         "geo": {"country_iso_code": country, "city_name": city,
                                 "location": {"lat": lat, "lon": lon}},
                         "as": {"number": 64500 + i % 10, "organization": {"name": "Example Transit"}}}
    if status >= 400 or i % 11 == 0:
        doc["error"] = {"type": "AuthenticationError" if status == 401 else "TimeoutError",
                        "message": "request failed", "category": "client_error"}
    return doc


def ecs_events(start: int, count: int, *, seed: int = 7, kafka_topic: str | None = None) -> list[Event]:
    rng = random.Random(seed + start)
    out = []
    for i in range(start, start + count):
        meta = {"kafka": {"topic": kafka_topic, "partition": i % 3, "offset": i}} if kafka_topic else None
        out.append(Event(ecs_doc(i, rng), meta))
    return out


class Es:
    """Assertions against Elasticsearch over plain HTTP."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.session = aiohttp.ClientSession()

    async def close(self) -> None:
        await self.session.close()

    async def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = orjson.dumps(body) if body is not None else None
        async with self.session.request(method, self.url + path, data=data,
                                        headers={"content-type": "application/json"}) as resp:
            raw = await resp.read()
            return resp.status, (orjson.loads(raw) if raw else None)

    async def refresh(self, index: str) -> None:
        await self.request("POST", f"/{index}/_refresh")

    async def count(self, index: str, query: dict[str, Any] | None = None, *,
                    missing_ok: bool = False) -> int:
        await self.refresh(index)
        status, body = await self.request("POST", f"/{index}/_count",
                                          {"query": query} if query else None)
        if status == 404 and missing_ok:
            return 0
        assert status == 200, body
        return int(body["count"])

    async def search(self, index: str, query: dict[str, Any], size: int = 10) -> list[dict[str, Any]]:
        status, body = await self.request("POST", f"/{index}/_search", {"query": query, "size": size})
        assert status == 200, body
        return [h["_source"] | {"_id": h["_id"]} for h in body["hits"]["hits"]]

    async def delete_ids(self, index: str, ids: list[str]) -> None:
        """Delete documents by id (a minimal node has no _delete_by_query)."""
        body = b"".join(orjson.dumps({"delete": {"_index": index, "_id": i}}) + b"\n" for i in ids)
        async with self.session.post(f"{self.url}/_bulk?refresh=true", data=body,
                                     headers={"content-type": "application/x-ndjson"}) as resp:
            result = orjson.loads(await resp.read())
            assert resp.status == 200 and not result.get("errors"), result

    async def delete(self, *targets: str) -> None:
        for target in targets:
            await self.request("DELETE", f"/{target}?ignore_unavailable=true")


async def adapted_resources(es_url: str) -> Resources:
    """The shipped templates as ``logpipe setup`` would install them on this node: what the
    node lacks (ILM, mapper-extras) left out or replaced. Tests that build their own indices
    from the shipped mappings start here, so they see what a real deployment gets."""
    from elasticsearch import AsyncElasticsearch

    from logpipe.setup.client import Cluster
    from logpipe.setup.cluster import detect
    from logpipe.setup.plan import adapt
    from logpipe.setup.resources import load

    client = AsyncElasticsearch(es_url)
    try:
        caps = await detect(Cluster(client))
    finally:
        await client.close()
    resources, _ = adapt(load(REPO), caps)
    return resources


async def typed_index(es: Es, es_url: str, index: str) -> None:
    """Create ``index`` with the shipped mappings and settings (adapted to this node)."""
    res = await adapted_resources(es_url)
    settings: dict[str, Any] = {}
    mappings: dict[str, Any] = {}
    for name in COMPONENTS:
        template = res.components[name]["template"]
        settings.update(template.get("settings", {}))
        mappings.update(template.get("mappings", {}))
    settings["index.auto_expand_replicas"] = "0-1"
    status, body = await es.request("PUT", f"/{index}", {"settings": settings, "mappings": mappings})
    assert status == 200, body


class EsProxy:
    """An HTTP server on a free local port that forwards everything to Elasticsearch,
    for tests that make the node misbehave in ways a real one only does under load.

    One base keeps the server, the forwarding and the header hygiene the same for every
    such proxy. A subclass answers bulk requests in ``_bulk``, where the body arrives
    uncompressed so it can read the documents; everything else, and bulk requests while
    ``_intercepting()`` is false, reaches ``upstream`` untouched.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._session = aiohttp.ClientSession()
        app = web.Application(client_max_size=256 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _forward(self, request: web.Request, body: bytes) -> tuple[int, dict[str, str], bytes]:
        """Send ``body`` upstream as ``request`` would have been; the answer's status, headers
        (without those that describe the hop) and body."""
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
        async with self._session.request(request.method, self.upstream + request.path_qs,
                                         data=body or None, headers=headers) as resp:
            out = {k: v for k, v in resp.headers.items() if k.lower() not in _HOP_HEADERS}
            return resp.status, out, await resp.read()

    async def _pass(self, request: web.Request, body: bytes) -> web.Response:
        status, headers, raw = await self._forward(request, body)
        return web.Response(status=status, headers=headers, body=raw)

    def _intercepting(self) -> bool:
        return True

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        if request.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        if request.path.endswith("/_bulk") and self._intercepting():
            return await self._bulk(request, body)
        return await self._pass(request, body)

    async def _bulk(self, request: web.Request, body: bytes) -> web.StreamResponse:
        raise NotImplementedError

    @staticmethod
    def bulk_pairs(body: bytes) -> list[tuple[bytes, bytes]]:
        """The (action line, document line) pairs of an NDJSON bulk body."""
        lines = body.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        return list(zip(lines[0::2], lines[1::2]))


class ThrottlingProxy(EsProxy):
    """Forwards to Elasticsearch; every ``every_request``-th bulk request gets a 429, and in
    other bulk responses every ``every_item``-th item is turned into a 429 (its document is
    *not* written: the proxy removes it from the body it forwards)."""

    def __init__(self, upstream: str, *, every_request: int = 3, every_item: int = 7) -> None:
        super().__init__(upstream)
        self.every_request = every_request
        self.every_item = every_item
        self.bulk_requests = 0
        self.rejected_requests = 0
        self.rejected_items = 0

    async def _bulk(self, request: web.Request, body: bytes) -> web.StreamResponse:
        self.bulk_requests += 1
        if self.bulk_requests % self.every_request == 0:
            self.rejected_requests += 1
            return web.json_response({"error": {"type": "es_rejected_execution_exception",
                                                "reason": "rejected execution (queue capacity 1)"},
                                      "status": 429}, status=429)
        pairs = self.bulk_pairs(body)
        keep = {n for n in range(len(pairs)) if (n + self.bulk_requests) % self.every_item != 0}
        if keep:
            forwarded = b"".join(pairs[n][0] + b"\n" + pairs[n][1] + b"\n" for n in sorted(keep))
            status, headers, raw = await self._forward(request, forwarded)
            if status != 200:
                return web.Response(status=status, headers=headers, body=raw)
            upstream = orjson.loads(raw)
        else:
            headers, upstream = {"x-elastic-product": "Elasticsearch"}, {"errors": False, "items": []}
        items = iter(upstream.get("items", []))
        merged = []
        for n in range(len(pairs)):
            if n in keep:
                merged.append(next(items))
            else:
                self.rejected_items += 1
                action = next(iter(orjson.loads(pairs[n][0])))
                merged.append({action: {"status": 429, "error": {
                    "type": "es_rejected_execution_exception", "reason": "rejected execution"}}})
        out = {"errors": True, "items": merged} if len(keep) < len(pairs) else upstream
        return web.Response(status=200, headers=headers, body=orjson.dumps(out))
