"""An HTTP proxy in front of Elasticsearch that fails chosen documents inside ``_bulk``.

A real node answers a bulk request item by item; one document can get a 503
(its shard is relocating) while its neighbours are written. This proxy makes
that happen on demand: documents whose source contains one of the ``failing``
markers are taken out of the forwarded body and answered with the chosen
status, the rest go to Elasticsearch, and the two answers are merged back in
request order. Switching ``failing`` while traffic flows turns the fault on
and off. ``flaky`` gives a marker a list of statuses to answer on its next
attempts, after which it goes through. ``request_faults`` is consumed one
entry per bulk request: a status answers the whole request with it, and
``"timeout"`` holds the request for ``hold_seconds`` (longer than the
client's timeout) before forwarding it, so it is applied after the client
gave up. Everything that is not ``_bulk`` passes through untouched.
"""
from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import orjson
from aiohttp import web

from tests.integration.es_support import EsProxy

#: What a node says, by item status, when it refuses a document.
ERROR_TYPES = {400: "mapper_parsing_exception", 403: "cluster_block_exception",
               404: "index_not_found_exception", 409: "version_conflict_engine_exception",
               429: "es_rejected_execution_exception", 503: "unavailable_shards_exception"}


class BulkItemFaults(EsProxy):
    def __init__(self, upstream: str) -> None:
        super().__init__(upstream)
        #: marker bytes -> status answered for documents containing them
        self.failing: dict[bytes, int] = {}
        #: marker -> statuses for its next attempts (then it passes)
        self.flaky: dict[bytes, list[int]] = {}
        #: one entry per coming bulk request: a status for the whole request, or "timeout"
        self.request_faults: list[int | str] = []
        self.hold_seconds = 5.0
        #: marker -> how many times a document with it was answered with a failure
        self.failed_attempts: Counter[bytes] = Counter()
        #: marker -> monotonic times at which a document with it reached the proxy (flaky ones)
        self.attempt_times: dict[bytes, list[float]] = {}
        self.request_faults_used: Counter[str] = Counter()
        self.bulk_requests = 0

    def _verdict(self, doc: bytes) -> int | None:
        for marker, status in self.failing.items():
            if marker in doc:
                self.failed_attempts[marker] += 1
                return status
        for marker, statuses in self.flaky.items():
            if marker in doc:
                self.attempt_times.setdefault(marker, []).append(time.monotonic())
                if statuses:
                    self.failed_attempts[marker] += 1
                    return statuses.pop(0)
                return None
        return None

    def _intercepting(self) -> bool:
        """Bulk requests go through untouched while no fault is set up."""
        return bool(self.failing or self.flaky or self.request_faults)

    async def _bulk(self, request: web.Request, body: bytes) -> web.StreamResponse:
        self.bulk_requests += 1
        if self.request_faults:
            fault = self.request_faults.pop(0)
            self.request_faults_used[str(fault)] += 1
            if fault == "timeout":
                await asyncio.sleep(self.hold_seconds)  # the client has given up by now
                return await self._pass(request, body)
            return web.json_response({"error": {"type": "injected_failure", "reason": f"injected {fault}"},
                                      "status": fault}, status=int(fault),
                                     headers={"x-elastic-product": "Elasticsearch"})
        pairs = self.bulk_pairs(body)
        verdicts = [self._verdict(doc) for _, doc in pairs]
        forwarded = [p for p, v in zip(pairs, verdicts) if v is None]
        upstream: dict[str, Any] = {"errors": False, "items": []}
        headers = {"x-elastic-product": "Elasticsearch"}
        if forwarded:
            data = b"".join(a + b"\n" + d + b"\n" for a, d in forwarded)
            status, headers, raw = await self._forward(request, data)
            if status != 200:
                return web.Response(status=status, headers=headers, body=raw)
            upstream = orjson.loads(raw)
        items = iter(upstream.get("items", []))
        merged = []
        for (action_line, _), verdict in zip(pairs, verdicts):
            if verdict is None:
                merged.append(next(items))
                continue
            action = next(iter(orjson.loads(action_line)))
            merged.append({action: {"status": verdict, "error": {
                "type": ERROR_TYPES.get(verdict, "injected_failure"),
                "reason": f"injected {verdict} for the test"}}})
        out = {"errors": bool(upstream.get("errors")) or any(v is not None for v in verdicts),
               "items": merged}
        headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        return web.Response(status=200, headers=headers, body=orjson.dumps(out), content_type="application/json")
