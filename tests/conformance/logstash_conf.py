"""Conformance cases go through Logstash's own language, as a user's ``.conf`` would.

A case's options are written out as a ``filter { NAME { ... } }`` block and loaded
with logpipe's ``.conf`` loader, so that the parser, the translation (common
options, Logstash's defaults, ``from_logstash``) and the plugin's checks all take
part. Strings are written with ``config.support_escapes`` on, the one way a
Logstash config can hold any text exactly (a value ending in a backslash, quotes
of both kinds, newlines).
"""
from __future__ import annotations

import math
from typing import Any

from logpipe.config.logstash import ESCAPES_KEY, load_logstash_text
from logpipe.core.plugin import Filter

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": "\\0"}


def _string(text: str) -> str:
    return '"' + "".join(_ESCAPES.get(ch, ch) for ch in text) + '"'


def render(value: Any) -> str:
    """One value in Logstash's syntax."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} cannot be written in a Logstash config")
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(render(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + " ".join(f"{_string(str(k))} => {render(v)}" for k, v in value.items()) + " }"
    raise ValueError(f"{type(value).__name__} cannot be written in a Logstash config")


def filter_conf(name: str, options: dict[str, Any]) -> str:
    """``filter { name { option => value ... } }`` for these options (None values left out,
    as Logstash has no null)."""
    body = "\n".join(f"    {key} => {render(val)}" for key, val in options.items() if val is not None)
    return f"filter {{\n  {name} {{\n{body}\n  }}\n}}\n"


def build_filter(name: str, options: dict[str, Any]) -> Filter:
    """The filter a ``.conf`` holding only this plugin builds."""
    spec = load_logstash_text(filter_conf(name, options), source=f"{name}.conf",
                              settings={ESCAPES_KEY: True})
    [entry] = spec.filter_entries()
    plugin = entry.cls(entry.config, id=entry.id)
    assert isinstance(plugin, Filter)
    return plugin
