"""The truncate filter: text longer than ``length_bytes`` bytes is cut.

A cut never splits a UTF-8 character, so the result may be a few bytes shorter
than the limit. Non-text values are left alone; lists and objects are walked.
"""
from __future__ import annotations

from typing import Any

from logpipe.core.event import TIMESTAMP, Event
from logpipe.core.fieldref import parse
from logpipe.core.plugin import Filter, PluginContext
from logpipe.filters.common import CommonActions
from logpipe.filters.truncate.config import TruncateConfig


def truncate_text(text: str, limit: int) -> str:
    if len(text) * 4 <= limit:   # cannot be over the limit: skip the encoding
        return text
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    return raw[:limit].decode("utf-8", errors="ignore")


class TruncateFilter(Filter):
    """Cuts the chosen fields to ``length_bytes``."""

    Config = TruncateConfig
    config: TruncateConfig

    def __init__(self, config: TruncateConfig, *, id: str,
                 context: PluginContext | None = None) -> None:
        super().__init__(config, id=id, context=context)
        self._limit = config.length_bytes
        self._paths = [parse(f) for f in config.fields]
        self._actions = CommonActions(config)

    def _cut(self, value: Any) -> Any:
        if isinstance(value, str):
            return truncate_text(value, self._limit)
        if isinstance(value, list):
            return [self._cut(v) for v in value]
        if isinstance(value, dict):
            return {k: self._cut(v) for k, v in value.items()}
        return value

    def process(self, events: list[Event]) -> list[Event]:
        for event in events:
            if self._paths:
                for path in self._paths:
                    value = event.get_path(path)
                    if value is not None:
                        event.set_path(path, self._cut(value))
            else:
                for name, value in list(event.data.items()):
                    if name != TIMESTAMP:
                        event.data[name] = self._cut(value)
        self._actions.apply(events)
        return events
