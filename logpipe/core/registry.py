"""Plugins by name, found through entry points.

The groups ``logpipe.inputs``, ``logpipe.filters`` and ``logpipe.outputs`` are
read once; third-party packages add plugins by declaring entry points in the
same groups. Tests may ``register`` classes directly.
"""
from __future__ import annotations

from functools import lru_cache
from importlib.metadata import EntryPoint, entry_points

from logpipe.core.plugin import Plugin
from logpipe.errors import ConfigError, PluginNotFound

KINDS = ("input", "filter", "output")
_extra: dict[tuple[str, str], type[Plugin]] = {}


@lru_cache(maxsize=None)
def _entry_points(kind: str) -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=f"logpipe.{kind}s")}


def register(kind: str, name: str, cls: type[Plugin]) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown plugin kind {kind!r}")
    cls.plugin_name = name
    _extra[(kind, name)] = cls


def names(kind: str) -> list[str]:
    found = set(_entry_points(kind)) | {n for k, n in _extra if k == kind}
    return sorted(found)


def get(kind: str, name: str) -> type[Plugin]:
    cls = _extra.get((kind, name))
    if cls is not None:
        return cls
    ep = _entry_points(kind).get(name)
    if ep is None:
        known = ", ".join(names(kind)) or "none"
        raise PluginNotFound(f"unknown {kind} type {name!r} (known: {known})")
    try:
        cls = ep.load()
    except ImportError as exc:
        raise ConfigError(f"{kind} type {name!r} cannot be loaded: {exc}") from exc
    cls.plugin_name = name
    return cls
