"""The Redis client the input uses, and the pause between reconnects.

redis-py's own command retries are turned off: retrying a pop or a move
after a lost reply can take items twice or strand them, so the input sees
every connection error and decides itself (reconnect after a backoff, and in
reliable mode re-read its processing list).
"""
from __future__ import annotations

import asyncio
import random
from typing import Any
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from logpipe.inputs.redis.config import RedisInputConfig

#: What a dropped or refused connection looks like from redis-py.
CONNECTION_ERRORS = (RedisConnectionError, RedisTimeoutError, ConnectionError, OSError)


def make_client(cfg: RedisInputConfig) -> aioredis.Redis:
    kwargs: dict[str, Any] = {
        "username": cfg.username,
        "password": cfg.password.get_secret_value() if cfg.password else None,
        # A blocking pop may legitimately wait block_timeout; longer than that is a dead peer.
        "socket_timeout": cfg.block_timeout + 5.0,
        "socket_connect_timeout": cfg.connect_timeout,
        "retry": Retry(NoBackoff(), 0),
        "health_check_interval": 30,
    }
    if cfg.ssl or (cfg.url or "").startswith("rediss://"):
        kwargs.update(ssl_ca_certs=cfg.ssl_ca_certs, ssl_certfile=cfg.ssl_certfile,
                      ssl_keyfile=cfg.ssl_keyfile, ssl_cert_reqs="required" if cfg.ssl_verify else "none",
                      ssl_check_hostname=cfg.ssl_verify)
        if not cfg.url:
            kwargs["ssl"] = True
    if cfg.url:
        return aioredis.Redis.from_url(cfg.url, **kwargs)
    return aioredis.Redis(host=cfg.host, port=cfg.port, db=cfg.db, **kwargs)


def where(cfg: RedisInputConfig) -> str:
    """host:port/db for logs, without credentials."""
    if cfg.url:
        parts = urlsplit(cfg.url)
        return f"{parts.scheme}://{parts.hostname}:{parts.port or 6379}{parts.path}"
    return f"{cfg.host}:{cfg.port}/{cfg.db}"


class Backoff:
    """Exponential pause, capped, with a little jitter so replicas do not reconnect in step."""

    def __init__(self, initial: float, cap: float) -> None:
        self.initial = initial
        self.cap = cap
        self._next = initial

    def reset(self) -> None:
        self._next = self.initial

    def next(self) -> float:
        delay = self._next
        self._next = min(self.cap, delay * 2)
        return delay * random.uniform(0.8, 1.0)


async def pause(stopping: asyncio.Event, seconds: float) -> bool:
    """Sleep unless asked to stop first; True when stopping."""
    try:
        await asyncio.wait_for(stopping.wait(), seconds)
    except TimeoutError:
        return False
    return True
