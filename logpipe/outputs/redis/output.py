"""``redis`` output: events onto a list (RPUSH) or a channel (PUBLISH).

A batch is grouped by its rendered key and written in one round trip (a Redis
pipeline). ``send`` returns once Redis answered every command. A connection
error is retried after ``reconnect_interval`` (doubling) up to ``retries`` times,
then the batch fails with a retriable DeliveryError; a command Redis refuses
(wrong type of key, ACL) fails it at once, not retriable. Commands of a
pipeline that broke halfway may have run, so a retry can write an event twice:
at-least-once, as every Redis producer.
"""
from __future__ import annotations

import asyncio
import random
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from logpipe.codecs import Codec
from logpipe.core.event import Event
from logpipe.core.plugin import Output
from logpipe.core.sprintf import compile_template, is_template
from logpipe.core.writes import Writes
from logpipe.errors import DeliveryError
from logpipe.outputs.redis.config import RedisOutputConfig

_CONNECTION_ERRORS = (RedisConnectionError, RedisTimeoutError, ConnectionError, OSError)


class RedisOutput(Output):
    Config = RedisOutputConfig
    config: RedisOutputConfig

    def writes(self) -> Writes:
        """It reads events and never changes them."""
        return Writes.nothing()

    async def start(self) -> None:
        cfg = self.config
        self.codec: Codec = cfg.codec.build().check("encode")
        self._key = compile_template(cfg.key) if is_template(cfg.key) else None
        self._client: aioredis.Redis | None = None
        self._endpoints = cfg.endpoints()
        if cfg.shuffle_hosts:
            random.shuffle(self._endpoints)
        self._endpoint = 0

    def _connect(self) -> aioredis.Redis:
        cfg = self.config
        kwargs: dict[str, Any] = {
            "username": cfg.username,
            "password": cfg.password.get_secret_value() if cfg.password else None,
            "socket_timeout": cfg.timeout, "socket_connect_timeout": cfg.timeout,
        }
        if cfg.ssl_enabled:
            kwargs.update(ssl=True, ssl_ca_certs=cfg.ssl_certificate_authorities[0] if cfg.ssl_certificate_authorities else None,
                          ssl_certfile=cfg.ssl_certificate, ssl_keyfile=cfg.ssl_key,
                          ssl_cert_reqs="required" if cfg.ssl_verification_mode == "full" else "none",
                          ssl_check_hostname=cfg.ssl_verification_mode == "full")
        if cfg.url:
            kwargs.pop("ssl", None)
            return aioredis.Redis.from_url(cfg.url, **kwargs)
        host, port = self._endpoints[self._endpoint % len(self._endpoints)]
        return aioredis.Redis(host=host, port=port, db=cfg.db, **kwargs)

    def _groups(self, events: list[Event]) -> dict[str, list[bytes]]:
        encode = self.codec.encode
        if self._key is None:
            return {self.config.key: [encode(e) for e in events]}
        groups: dict[str, list[bytes]] = {}
        render = self._key
        for e in events:
            groups.setdefault(render(e), []).append(encode(e))
        return groups

    async def send(self, events: list[Event]) -> None:
        if not events:
            return
        groups = self._groups(events)
        cfg = self.config
        delay = cfg.reconnect_interval
        for attempt in range(cfg.retries + 1):
            try:
                await self._deliver(groups)
                return
            except _CONNECTION_ERRORS as exc:
                await self._drop_client()
                self._endpoint += 1
                if attempt == cfg.retries:
                    raise DeliveryError(f"redis unreachable after {attempt + 1} attempts: {exc}",
                                        retriable=True) from exc
                self.log.warning("redis output %s: %s; retrying in %.1fs", self.id, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
            except RedisError as exc:
                raise DeliveryError(f"redis refused the batch: {exc}", retriable=False) from exc

    async def _deliver(self, groups: dict[str, list[bytes]]) -> None:
        """The one place that talks to Redis: every group in one pipeline round trip."""
        cfg = self.config
        if self._client is None:
            self._client = self._connect()
        client = self._client
        if cfg.data_type == "list" and cfg.congestion_threshold:
            for key in groups:
                while await client.llen(key) > cfg.congestion_threshold:
                    await asyncio.sleep(cfg.congestion_interval)
        step = cfg.batch_events if cfg.batch else None
        async with client.pipeline(transaction=False) as pipe:
            for key, items in groups.items():
                if cfg.data_type == "channel":
                    for item in items:
                        pipe.publish(key, item)
                elif step is None:
                    pipe.rpush(key, *items)
                else:
                    for i in range(0, len(items), step):
                        pipe.rpush(key, *items[i:i + step])
            await pipe.execute()

    async def _drop_client(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                await client.aclose()
            except Exception:   # a broken connection may fail to close; it is dropped either way
                pass

    async def stop(self) -> None:
        await self._drop_client()
