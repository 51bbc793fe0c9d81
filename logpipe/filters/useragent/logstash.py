"""Logstash's useragent options as logpipe's (see docs/logstash-plugins.md)."""
from __future__ import annotations

from typing import Any

from logpipe.core.logstash import Options

DEFAULTS: dict[str, Any] = {}


def from_logstash(options: dict[str, Any]) -> dict[str, Any]:
    opts = Options("useragent filter", options)
    opts.rename("lru_cache_size", "cache_size", int)
    opts.refuse("ecs_compatibility", "only the ECS layout (`[user_agent][name]`, "
                "`[user_agent][os][name]`, ...) is written", allowed=lambda v: v in ("v1", "v8"))
    opts.refuse("regexes", "the bundled uap-core definitions are used; custom regexes.yaml "
                "files are not supported")
    opts.refuse("prefix", "field prefixes belong to the legacy layout; use `target`",
                allowed=lambda v: v == "")
    return opts.result()
