"""``http`` output: events to an HTTP endpoint, per event or as JSON batches.

``send`` returns when every request of the batch got a 2xx (or ignorable)
answer. Retryable answers and connection errors are retried with backoff
(:mod:`retry`), and only the requests that failed are sent again; when
``retry_max_elapsed`` passes, or a request gets a final error (400, 401, ...),
the batch fails with a DeliveryError saying which status and how many requests.
"""
from __future__ import annotations

import asyncio
import base64
import ssl
import time

import aiohttp

from logpipe.core.event import Event
from logpipe.core.plugin import Output
from logpipe.core.writes import Writes
from logpipe.errors import DeliveryError
from logpipe.outputs.http.config import HttpOutputConfig
from logpipe.outputs.http.request import Request, RequestBuilder
from logpipe.outputs.http.retry import Policy


class _Final(Exception):
    def __init__(self, status: int, text: str) -> None:
        super().__init__(f"HTTP {status}: {text[:200]}")
        self.status = status


class HttpOutput(Output):
    Config = HttpOutputConfig
    config: HttpOutputConfig

    def writes(self) -> Writes:
        """It reads events and never changes them."""
        return Writes.nothing()

    async def start(self) -> None:
        cfg = self.config
        self.builder = RequestBuilder(cfg)
        self.policy = Policy(cfg)
        self._session: aiohttp.ClientSession | None = None
        self._limit = asyncio.Semaphore(cfg.pool_max)

    def _ssl(self) -> ssl.SSLContext | bool:
        cfg = self.config
        if cfg.ssl_verification_mode == "none":
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        else:
            ctx = ssl.create_default_context()
            for ca in cfg.ssl_certificate_authorities:
                ctx.load_verify_locations(cafile=ca)
        if cfg.ssl_certificate:
            ctx.load_cert_chain(cfg.ssl_certificate, cfg.ssl_key)
        return ctx

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            cfg = self.config
            headers = {}
            if cfg.user and cfg.password:
                pair = f"{cfg.user}:{cfg.password.get_secret_value()}".encode()
                headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
            self._session = aiohttp.ClientSession(
                headers=headers,
                connector=aiohttp.TCPConnector(limit=cfg.pool_max, limit_per_host=cfg.pool_max_per_route,
                                               force_close=not cfg.keepalive, ssl=self._ssl()),
                timeout=aiohttp.ClientTimeout(total=cfg.request_timeout, sock_connect=cfg.connect_timeout,
                                              sock_read=cfg.socket_timeout))
        return self._session

    async def send(self, events: list[Event]) -> None:
        todo = self.builder.build(events)
        deadline = time.monotonic() + self.config.retry_max_elapsed
        attempt = 0
        while True:
            results = await asyncio.gather(*(self._one(r) for r in todo))
            final = [r for r in results if isinstance(r, _Final)]
            if final:
                raise DeliveryError(f"{self.config.url}: {len(final)} of {len(todo)} requests refused, "
                                    f"first {final[0]}", retriable=False)
            retry = [(req, r) for req, r in zip(todo, results) if r is not None]
            if not retry:
                return
            wait = max(self.policy.delay(attempt, r[1] if isinstance(r, tuple) else None) for _, r in retry)
            if time.monotonic() + wait > deadline:
                raise DeliveryError(f"{self.config.url}: {len(retry)} of {len(todo)} requests still failing "
                                    f"after {attempt + 1} attempts: {_describe(retry[0][1])}", retriable=True)
            self.log.warning("http output %s: %d requests failed (%s); retrying in %.1fs", self.id,
                             len(retry), _describe(retry[0][1]), wait)
            await asyncio.sleep(wait)
            todo = [req for req, _ in retry]
            attempt += 1

    async def _one(self, req: Request) -> None | _Final | tuple[int, str | None] | BaseException:
        """One request: None when delivered, (status, Retry-After) to retry, _Final, or the error."""
        cfg = self.config
        tries = cfg.automatic_retries + 1
        async with self._limit:
            for n in range(tries):
                try:
                    async with self._client().request(cfg.http_method.upper(), req.url, data=req.body,
                                                      headers=req.headers, proxy=cfg.proxy) as resp:
                        text = await resp.text(errors="replace")
                        verdict = self.policy.status(resp.status)
                        if verdict == "done":
                            return None
                        if verdict == "retry":
                            return (resp.status, resp.headers.get("Retry-After"))
                        return _Final(resp.status, text)
                except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
                    if n + 1 == tries:
                        return exc
        return None

    async def stop(self) -> None:
        if getattr(self, "_session", None) is not None:
            await self._session.close()  # type: ignore[union-attr]
            self._session = None


def _describe(result: object) -> str:
    if isinstance(result, tuple):
        return f"HTTP {result[0]}"
    return f"{type(result).__name__}: {result}"
