"""``redis`` output: RPUSH to a list or PUBLISH on a channel, key templated."""
from __future__ import annotations

from logpipe.outputs.redis.config import RedisOutputConfig
from logpipe.outputs.redis.output import RedisOutput

__all__ = ["RedisOutput", "RedisOutputConfig"]
