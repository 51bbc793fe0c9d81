"""``redis`` input: lists (plain, or reliable at-least-once) and pub/sub channels."""
from __future__ import annotations

from logpipe.inputs.redis.config import RedisInputConfig
from logpipe.inputs.redis.input import RedisInput

__all__ = ["RedisInput", "RedisInputConfig"]
