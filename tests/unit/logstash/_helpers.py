"""Logstash-shaped options through a plugin's hooks, as the ``.conf`` loader does."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from logpipe.core import registry


def config_class(kind: str, name: str) -> Any:
    return registry.get(kind, name).Config


def settle(kind: str, name: str, **options: Any) -> BaseModel:
    """``Config.model_validate(Config.from_logstash({**logstash_defaults, **options}))``."""
    cfg = config_class(kind, name)
    return cfg.model_validate(cfg.from_logstash({**cfg.logstash_defaults, **options}))
