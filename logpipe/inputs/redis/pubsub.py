"""Reading Redis channels (``SUBSCRIBE``) or channel patterns (``PSUBSCRIBE``).

Pub/sub is at-most-once by nature: Redis keeps no copy of a message, so what
is published while logpipe is disconnected, or what Redis drops when this
subscriber falls behind its ``client-output-buffer-limit pubsub``, is gone.
Use a list with ``reliable: true`` (or Kafka) for data that must arrive.
Messages are read in batches of up to ``batch_count``; while the pipeline is
full, ``submit`` waits and messages accumulate in Redis's output buffer.
"""
from __future__ import annotations

import logging

import redis.asyncio as aioredis

from logpipe.core.plugin import InputContext
from logpipe.inputs.redis.config import RedisInputConfig
from logpipe.inputs.redis.connection import CONNECTION_ERRORS, Backoff, pause, where
from logpipe.inputs.redis.decode import message_decoder


async def read_channels(client: aioredis.Redis, cfg: RedisInputConfig, ctx: InputContext,
                        log: logging.Logger) -> None:
    make = message_decoder(cfg.codec, cfg.data_type, cfg.key)
    backoff = Backoff(cfg.reconnect_backoff_ms / 1000, cfg.reconnect_backoff_max_ms / 1000)
    patterned = cfg.data_type == "pattern_channel"
    limit = cfg.batch_count
    while not ctx.stopping.is_set():
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            if patterned:
                await pubsub.psubscribe(cfg.key)
            else:
                await pubsub.subscribe(cfg.key)
            log.info("subscribed to %s %s at %s", "pattern" if patterned else "channel", cfg.key, where(cfg))
            backoff.reset()
            while not ctx.stopping.is_set():
                msg = await pubsub.get_message(timeout=cfg.block_timeout)
                if msg is None:
                    continue
                messages = [msg]
                while len(messages) < limit:
                    more = await pubsub.get_message(timeout=0.0)
                    if more is None:
                        break
                    messages.append(more)
                messages = [m for m in messages if m["type"] in ("message", "pmessage")]
                if messages:
                    events = [e for m in messages for e in make(m["data"], m["channel"], m.get("pattern"))]
                    await ctx.submit(events, size=sum(len(m["data"]) for m in messages))
        except CONNECTION_ERRORS as exc:
            delay = backoff.next()
            log.warning("redis %s: %s; messages published until we resubscribe are lost; reconnecting "
                        "in %.2fs", where(cfg), str(exc) or type(exc).__name__, delay)
            if await pause(ctx.stopping, delay):
                return
        finally:
            try:
                await pubsub.aclose()
            except CONNECTION_ERRORS:
                pass
