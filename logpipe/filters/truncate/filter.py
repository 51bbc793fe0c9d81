"""The truncate filter: text longer than ``length_bytes`` bytes is cut.

A cut never splits a UTF-8 character, so the result may be a few bytes shorter
than the limit. Non-text values are left alone; text in lists is cut and objects
are walked. The common options apply to the events that were cut.
"""
from __future__ import annotations

from typing import Any

from logpipe.core.event import TIMESTAMP, Event
from logpipe.core.fieldref import parse
from logpipe.core.plugin import Filter, PluginContext
from logpipe.core.writes import ANY_KEY, Writes, set_paths
from logpipe.filters.common import CommonActions, common_writes
from logpipe.filters.truncate.config import TruncateConfig


def truncate_text(text: str, limit: int) -> str:
    if len(text) * 4 <= limit and limit:   # cannot be over the limit: skip the encoding
        return text
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    return raw[:limit].decode("utf-8", errors="ignore")


class TruncateFilter(Filter):
    """Cuts the chosen fields to ``length_bytes``."""

    Config = TruncateConfig
    runs_on_event_loop = True
    config: TruncateConfig

    def __init__(self, config: TruncateConfig, *, id: str,
                 context: PluginContext | None = None) -> None:
        super().__init__(config, id=id, context=context)
        self._limit = config.length_bytes
        self._paths = [parse(f) for f in config.fields]
        self._actions = CommonActions(config)

    def writes(self) -> Writes:
        """The fields, or without any every top-level field: a cut value is a new
        object (lists and objects are rebuilt, nothing is changed in place); the
        common options."""
        targets = set_paths(*self._paths) if self._paths else set_paths((ANY_KEY,))
        return targets + common_writes(self.config)

    def _cut(self, value: Any) -> Any:
        """Text is cut; lists have their text items cut; objects are walked."""
        if isinstance(value, str):
            return truncate_text(value, self._limit)
        if isinstance(value, list):
            return [truncate_text(v, self._limit) if isinstance(v, str) else v for v in value]
        if isinstance(value, dict):
            return {k: self._cut(v) for k, v in value.items()}
        return value

    def process(self, events: list[Event]) -> list[Event]:
        done: list[Event] = []
        for event in events:
            changed = False
            if self._paths:
                for path in self._paths:
                    value = event.get_path(path)
                    if value is not None:
                        cut = self._cut(value)
                        if cut != value:
                            event.set_path(path, cut)
                            changed = True
            else:
                for name, value in list(event.data.items()):
                    if name != TIMESTAMP:
                        cut = self._cut(value)
                        if cut != value:
                            event.data[name] = cut
                            changed = True
            if changed:
                done.append(event)
        self._actions.apply(done)   # only events that were cut, as in Logstash
        return events
