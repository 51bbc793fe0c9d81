"""The de_dot filter.

``a.b`` becomes ``a_b`` (or, ``nested``, ``{"a": {"b": ...}}``, merged into an
existing ``a`` object); with ``recursive`` the names inside objects are rewritten
too. A rewritten name that already exists is overwritten, as in Logstash.
"""
from __future__ import annotations

from typing import Any

from logpipe.core.event import TIMESTAMP, Event
from logpipe.core.fieldref import Path, parse
from logpipe.core.plugin import Filter, PluginContext
from logpipe.filters.common import CommonActions
from logpipe.filters.de_dot.config import DeDotConfig


class DeDotFilter(Filter):
    """Renames dotted names to ``separator`` names or nested objects."""

    Config = DeDotConfig
    runs_on_event_loop = True
    config: DeDotConfig

    def __init__(self, config: DeDotConfig, *, id: str,
                 context: PluginContext | None = None) -> None:
        super().__init__(config, id=id, context=context)
        self._paths: list[Path] = [parse(f) for f in config.fields]
        self._actions = CommonActions(config)

    def _fix(self, container: dict[str, Any], key: str, recursive: bool) -> None:
        value = container[key]
        if "." in key and key != TIMESTAMP:
            del container[key]
            if self.config.nested:
                parts = [p for p in key.split(".") if p] or [key]
                cur = container
                for part in parts[:-1]:
                    nxt = cur.get(part)
                    if not isinstance(nxt, dict):
                        nxt = {}
                        cur[part] = nxt
                    cur = nxt
                cur[parts[-1]] = value
            else:
                container[key.replace(".", self.config.separator)] = value
        if recursive and isinstance(value, dict):
            for inner in list(value):
                self._fix(value, inner, recursive)

    def process(self, events: list[Event]) -> list[Event]:
        recursive = self.config.recursive
        done: list[Event] = []
        for event in events:
            try:
                if self._paths:
                    for path in self._paths:
                        parent = event.get_path(path[:-1]) if len(path) > 1 else event.data
                        if isinstance(parent, dict) and path[-1] in parent:
                            self._fix(parent, path[-1], recursive)
                else:
                    for key in list(event.data):
                        self._fix(event.data, key, recursive)
            except (TypeError, ValueError) as exc:
                self.log.debug("de_dot failed: %s", exc)
                event.add_tag(self.config.tag_on_failure)
                continue
            done.append(event)
        self._actions.apply(done)
        return events
