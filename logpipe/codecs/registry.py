"""Codecs by name, found through the ``logpipe.codecs`` entry-point group.

Besides Logstash's names, a few spellings that logpipe's YAML pipelines already
used are aliases (``lines`` is ``line``, ``ndjson`` is ``json_lines``), so those
pipelines keep working unchanged.
"""
from __future__ import annotations

from functools import lru_cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from pydantic import ValidationError

from logpipe.codecs.base import Codec
from logpipe.errors import ConfigError

GROUP = "logpipe.codecs"
ALIASES = {"lines": "line", "ndjson": "json_lines"}
_extra: dict[str, type[Codec]] = {}


@lru_cache(maxsize=None)
def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def register(name: str, cls: type[Codec]) -> None:
    """Add a codec class by name (for tests and embedding)."""
    cls.name = name
    _extra[name] = cls


def names() -> list[str]:
    return sorted(set(_entry_points()) | set(_extra))


def canonical(name: str) -> str:
    return ALIASES.get(name, name)


def get(name: str) -> type[Codec]:
    name = canonical(name)
    cls = _extra.get(name)
    if cls is not None:
        return cls
    ep = _entry_points().get(name)
    if ep is None:
        raise ConfigError(f"unknown codec {name!r} (known: {', '.join(names()) or 'none'})")
    cls = ep.load()
    cls.name = name
    return cls


def build(name: str, options: dict[str, Any] | None = None) -> Codec:
    """A configured codec; bad options raise ConfigError naming the codec and the option."""
    cls = get(name)
    try:
        config = cls.Config.model_validate(options or {})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'codec'}: {err['msg']}" for err in exc.errors())
        raise ConfigError(f"codec {cls.name}: {problems}") from None
    return cls(config)
