"""Talking to Elasticsearch: one shared client per process, bulk requests with retries.

The client is the official ``AsyncElasticsearch``; bodies go through its
low-level ``perform_request`` as ready bytes (the transport passes bytes
through its NDJSON serializer untouched), so no per-document work happens in
the client. Its own retries are off: this module owns retrying, because only
it knows which items of a partial failure to send again.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import ssl
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable

from elastic_transport import TransportError
from elasticsearch import ApiError, AsyncElasticsearch
from elasticsearch.serializer import OrjsonSerializer

from logpipe.core.services import Resources
from logpipe.errors import DeliveryError
from logpipe.outputs.elasticsearch.config import ElasticsearchConfig
from logpipe.outputs.elasticsearch.request_builder import (GZIP_HEADERS, NDJSON_HEADERS, BulkItem,
                                                           body, compress)
from logpipe.outputs.elasticsearch.response import MalformedResponse, Rejection, classify
from logpipe.outputs.elasticsearch.retry import RetryPolicy, Verdict

if TYPE_CHECKING:
    from logpipe.outputs.elasticsearch.metrics import BulkMetrics

SHARED_KEY = "elasticsearch.clients"
#: Only what classification reads comes back; a 1000-item response shrinks several-fold.
BULK_PARAMS = {"filter_path": "errors,items.*.status,items.*.error"}
#: Bodies larger than this are gzipped in a thread (zlib releases the GIL).
_THREAD_COMPRESS_BYTES = 256 * 1024


def client_options(cfg: ElasticsearchConfig) -> dict[str, Any]:
    """Keyword arguments of AsyncElasticsearch for these settings."""
    opts: dict[str, Any] = {
        "hosts": list(cfg.hosts),
        "max_retries": 0,
        "retry_on_timeout": False,
        "request_timeout": cfg.timeout,
        "http_compress": False,
        "connections_per_node": max(10, cfg.max_in_flight * 2),
        "serializer": OrjsonSerializer(),
    }
    if cfg.ssl_enabled:
        opts["hosts"] = [_https(h) for h in cfg.hosts]
    if cfg.api_key is not None:
        opts["api_key"] = cfg.api_key.get_secret_value()
    elif cfg.user is not None and cfg.password is not None:
        opts["basic_auth"] = (cfg.user, cfg.password.get_secret_value())
    cas = cfg.ssl_certificate_authorities
    if cfg.ssl_verification_mode == "none":
        opts["verify_certs"] = False
        opts["ssl_show_warn"] = False
    elif len(cas) == 1:
        opts["ca_certs"] = cas[0]
    elif cas:
        context = ssl.create_default_context()
        for path in cas:
            context.load_verify_locations(cafile=path)
        opts["ssl_context"] = context
    return opts


def _https(host: str) -> str:
    if host.startswith("http://"):
        return "https://" + host[len("http://"):]
    return host if "://" in host else "https://" + host


def _client_key(cfg: ElasticsearchConfig) -> str:
    """Outputs with the same cluster and credentials share one client (and pool)."""
    opts = client_options(cfg)
    for name in ("serializer", "request_timeout", "connections_per_node", "ssl_context"):
        opts.pop(name, None)
    opts["cas"] = tuple(cfg.ssl_certificate_authorities)
    return hashlib.sha256(repr(sorted(opts.items())).encode()).hexdigest()


def acquire_client(resources: Resources, cfg: ElasticsearchConfig) -> tuple[str, AsyncElasticsearch]:
    """The process's client for this cluster and these credentials (shared by outputs)."""
    key = f"{SHARED_KEY}:{_client_key(cfg)}"
    client = resources.acquire(key, lambda: AsyncElasticsearch(**client_options(cfg)), _close)
    return key, client


async def release_client(resources: Resources, key: str) -> None:
    await resources.release(key)


async def _close(client: AsyncElasticsearch) -> None:
    await client.close()


@dataclass(slots=True)
class Failed:
    """A document that will not be written, and how hard we tried."""

    item: BulkItem
    rejection: Rejection
    attempts: int


@dataclass
class Counters:
    requests: int = 0
    retries: int = 0
    delivered: int = 0
    already_written: int = 0
    rejected: int = 0


class BulkService:
    """Sends bulk requests, at most ``max_in_flight`` at once, until each item is settled."""

    def __init__(self, client: AsyncElasticsearch, policy: RetryPolicy, *, action: str,
                 max_in_flight: int = 4, compression_level: int | None = None,
                 log: logging.Logger | None = None) -> None:
        self.client = client
        self.policy = policy
        self.action = action
        self.max_in_flight = max_in_flight
        self.compression_level = compression_level
        self.log = log or logging.getLogger("logpipe.output.elasticsearch")
        self.counters = Counters()
        self.metrics: BulkMetrics | None = None
        #: False while the last request got no answer or a 5xx (readiness reads it).
        self.healthy = True
        self._slots = asyncio.Semaphore(max_in_flight)

    def settled(self, written: int = 0, already_written: int = 0, rejected: int = 0) -> None:
        """Count documents that reached their outcome, in the counters and in /metrics."""
        c = self.counters
        c.delivered += written
        c.already_written += already_written
        c.rejected += rejected
        if self.metrics is not None:
            self.metrics.documents(written, already_written, rejected)

    async def reachable(self, timeout: float = 3.0) -> bool:
        """Whether the cluster answers a light request now (readiness)."""
        try:
            await self.client.options(request_timeout=timeout).perform_request(
                "GET", "/_cluster/health", params={"timeout": f"{int(timeout)}s"},
                headers={"accept": "application/json"}, endpoint_id="cluster.health")
        except ApiError as exc:
            ok = exc.meta.status < 500
        except (TransportError, OSError, TimeoutError):
            ok = False
        else:
            ok = True
        self.healthy = ok
        return ok

    async def _encode(self, data: bytes) -> tuple[bytes, dict[str, str]]:
        if self.compression_level is None:
            return data, NDJSON_HEADERS
        if len(data) >= _THREAD_COMPRESS_BYTES:
            return await asyncio.to_thread(compress, data, self.compression_level), GZIP_HEADERS
        return compress(data, self.compression_level), GZIP_HEADERS

    async def _post(self, items: list[BulkItem]) -> tuple[int | None, Any, str]:
        """One attempt: (status, body, description); status None when there was no answer."""
        data, headers = await self._encode(body(items))
        async with self._slots:
            self.counters.requests += 1
            metrics = self.metrics
            if metrics is None:
                return await self._request(data, headers)
            metrics.bulk_size.observe(len(items))
            started = time.perf_counter()
            try:
                return await self._request(data, headers)
            finally:
                metrics.request_seconds.observe(time.perf_counter() - started)

    async def _request(self, data: bytes, headers: dict[str, str]) -> tuple[int | None, Any, str]:
        try:
            resp = await self.client.perform_request(
                "POST", "/_bulk", params=BULK_PARAMS, headers=headers, body=data,
                endpoint_id="bulk")
        except ApiError as exc:
            return exc.meta.status, exc.body, f"HTTP {exc.meta.status}: {exc.message}"
        except TransportError as exc:
            return None, None, f"{type(exc).__name__}: {exc.message}"
        return resp.meta.status, resp.body, f"HTTP {resp.meta.status}"

    async def deliver(self, items: list[BulkItem]) -> list[Failed]:
        """Send until every item is written or rejected; returns the rejected ones.

        Raises DeliveryError(retriable=True) only when ``max_retries`` runs out.
        """
        failed: list[Failed] = []
        pending = items
        attempts = 0
        while pending:
            attempts += 1
            status, payload, what = await self._post(pending)
            self.healthy = status is not None and status < 500
            verdict = self.policy.request(status)
            if verdict is Verdict.DELIVERED:
                try:
                    result = classify(payload, len(pending), self.policy, self.action)
                except MalformedResponse as exc:
                    what = str(exc)
                else:
                    self.settled(result.delivered, result.already_written, len(result.rejected))
                    failed.extend(Failed(pending[r.slot], r, attempts) for r in result.rejected)
                    pending = [pending[slot] for slot in result.retry]
                    if not pending:
                        break
                    statuses = ", ".join(f"{n}x{s}" for s, n in sorted(result.retry_statuses.items()))
                    what = f"{len(pending)} items to retry ({statuses})"
            elif verdict is Verdict.SPLIT:
                if len(pending) == 1:
                    failed.append(Failed(pending[0], Rejection(0, 413, {
                        "type": "request_too_large",
                        "reason": f"document of {pending[0].size} bytes is larger than the "
                                  "cluster's http.max_content_length"}), attempts))
                    self.settled(rejected=1)
                    break
                half = len(pending) // 2
                self.log.warning("bulk request of %d documents too large (413); sending halves",
                                 len(pending))
                failed.extend(await self.deliver(pending[:half]))
                failed.extend(await self.deliver(pending[half:]))
                break
            elif verdict is Verdict.REJECT:
                error = _request_error(payload, what)
                failed.extend(Failed(item, Rejection(slot, status or 400, error), attempts)
                              for slot, item in enumerate(pending))
                self.settled(rejected=len(pending))
                break
            self.counters.retries += 1
            if self.metrics is not None:
                self.metrics.retry(_retry_reason(status, verdict))
            if self.policy.exhausted(attempts):
                raise DeliveryError(f"bulk request failed after {attempts} attempts: {what}",
                                    retriable=True)
            delay = self.policy.delay(attempts)
            self.log.warning("bulk request of %d documents: %s; retrying in %.1fs (attempt %d)",
                             len(pending), what, delay, attempts + 1)
            await asyncio.sleep(delay)
        return failed

    async def deliver_all(self, chunks: Iterable[list[BulkItem]]) -> list[Failed]:
        """Deliver every request of a batch, several at once; building overlaps sending.

        At most ``2 * max_in_flight`` requests are built and unsettled at a time,
        which bounds memory for huge batches.
        """
        iterator = iter(chunks)
        first = next(iterator, None)
        if first is None:
            return []
        second = next(iterator, None)
        if second is None:
            return await self.deliver(first)
        ahead = asyncio.Semaphore(self.max_in_flight * 2)
        failed: list[Failed] = []

        async def run(chunk: list[BulkItem]) -> None:
            try:
                failed.extend(await self.deliver(chunk))
            finally:
                ahead.release()

        try:
            async with asyncio.TaskGroup() as group:
                for chunk in (first, second):
                    await ahead.acquire()
                    group.create_task(run(chunk))
                    await asyncio.sleep(0)
                for chunk in iterator:
                    await ahead.acquire()
                    group.create_task(run(chunk))
                    await asyncio.sleep(0)  # let the request go out before building the next
        except BaseExceptionGroup as eg:
            raise eg.exceptions[0] from None
        return failed


def _retry_reason(status: int | None, verdict: Verdict) -> str:
    """``items`` when some documents of an answered request are retried, else the status."""
    if status is None:
        return "unreachable"
    if verdict is Verdict.DELIVERED:
        return "items"
    return str(status)


def _request_error(payload: Any, what: str) -> dict[str, Any]:
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        return payload["error"]
    return {"type": "request_rejected", "reason": what}
