"""``redis`` input: a list (plain or reliable) or pub/sub channels.

See :class:`~logpipe.inputs.redis.config.RedisInputConfig` for what each mode
guarantees; ``reliable: true`` on a list is the at-least-once mode.
"""
from __future__ import annotations

import socket
from typing import Any

from logpipe.core.plugin import Input, InputContext
from logpipe.inputs.redis.config import RedisInputConfig
from logpipe.inputs.redis.connection import make_client, where
from logpipe.inputs.redis.lists import ListReader
from logpipe.inputs.redis.pubsub import read_channels


class RedisInput(Input):
    Config = RedisInputConfig
    config: RedisInputConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cfg = self.config
        ctx = self.context
        if cfg.consumer_id is None:
            self.consumer_id = f"{socket.gethostname()}-{ctx.worker_index}"
        elif ctx.worker_count > 1:
            # Worker processes must not share a processing list: each recovers its own.
            self.consumer_id = f"{cfg.consumer_id}-{ctx.worker_index}"
        else:
            self.consumer_id = cfg.consumer_id
        self._client: Any = None
        self._lists: ListReader | None = None

    async def start(self) -> None:
        # redis-py connects on first use, so an unreachable server does not fail start-up:
        # run() keeps reconnecting with a backoff instead.
        self._client = make_client(self.config)
        if self.config.data_type == "list":
            self._lists = ListReader(self._client, self.config, self.consumer_id, self.log)
            self._lists.start()
            mode = f"reliable, processing list {self._lists.processing}" if self.config.reliable else "plain"
            self.log.info("reading list %s at %s (%s)", self.config.key, where(self.config), mode)

    async def run(self, ctx: InputContext) -> None:
        if self._lists is not None:
            await self._lists.run(ctx)
        else:
            await read_channels(self._client, self.config, ctx, self.log)

    async def stop(self) -> None:
        try:
            if self._lists is not None:
                await self._lists.stop()
        finally:
            if self._client is not None:
                await self._client.aclose()
                self._client = None

    @property
    def held_events(self) -> int:
        """Events submitted and not yet acknowledged (list mode)."""
        return self._lists.held_events if self._lists is not None else 0
