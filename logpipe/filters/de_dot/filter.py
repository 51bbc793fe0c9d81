"""The de_dot filter.

Without ``fields`` every name at every depth is rewritten; objects are walked
first, so ``{"a.b": {"c.d": 1}}`` becomes ``{"a_b": {"c_d": 1}}`` (or, nested,
``{"a": {"b": {"c": {"d": 1}}}}``). A rewritten name that already exists is
overwritten, as in Logstash.
"""
from __future__ import annotations

from typing import Any

from logpipe.core.event import TIMESTAMP, Event
from logpipe.core.fieldref import Path, parse
from logpipe.core.plugin import Filter, PluginContext
from logpipe.filters.common import CommonActions
from logpipe.filters.de_dot.config import DeDotConfig


def _place(target: dict[str, Any], keys: list[str], value: Any) -> None:
    cur = target
    for key in keys[:-1]:
        nxt = cur.get(key)
        if not isinstance(nxt, dict):
            nxt = {}
            cur[key] = nxt
        cur = nxt
    cur[keys[-1]] = value


class DeDotFilter(Filter):
    """Renames dotted names to ``separator`` names or nested objects."""

    Config = DeDotConfig
    config: DeDotConfig

    def __init__(self, config: DeDotConfig, *, id: str,
                 context: PluginContext | None = None) -> None:
        super().__init__(config, id=id, context=context)
        self._paths: list[Path] = [parse(f) for f in config.fields]
        self._actions = CommonActions(config)

    def _rewrite(self, obj: dict[str, Any], deep: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in obj.items():
            if deep and isinstance(value, dict):
                value = self._rewrite(value, deep)
            if "." not in key or key == TIMESTAMP:
                out[key] = value
            elif self.config.nested:
                _place(out, [k for k in key.split(".") if k] or [key], value)
            else:
                out[key.replace(".", self.config.separator)] = value
        return out

    def _one(self, event: Event, path: Path) -> None:
        name = path[-1]
        if "." not in name or not event.contains_path(path):
            return
        value = event.delete_path(path)
        parent = event.get_path(path[:-1]) if len(path) > 1 else event.data
        if not isinstance(parent, dict):
            return
        if self.config.nested:
            _place(parent, [k for k in name.split(".") if k] or [name], value)
        else:
            parent[name.replace(".", self.config.separator)] = value

    def process(self, events: list[Event]) -> list[Event]:
        for event in events:
            if self._paths:
                for path in self._paths:
                    self._one(event, path)
            else:
                event.data = self._rewrite(event.data, deep=True)
        self._actions.apply(events)
        return events
