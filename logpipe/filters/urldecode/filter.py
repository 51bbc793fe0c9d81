"""The urldecode filter.

Only ``%XX`` escapes are decoded (``+`` stays a plus, as in Logstash): each run
of escapes becomes bytes, read in ``charset``. Text inside lists and objects is
decoded too; other values are left alone. The common options apply to every
event, decoded or tagged, as in Logstash.
"""
from __future__ import annotations

import re
from typing import Any

from logpipe.core.event import TIMESTAMP, Event
from logpipe.core.fieldref import parse
from logpipe.core.plugin import Filter, PluginContext
from logpipe.core.writes import ANY_KEY, TAGS_CHANGE, Writes, set_paths
from logpipe.filters.common import CommonActions, common_writes
from logpipe.filters.urldecode.config import UrldecodeConfig

_ESCAPES = re.compile(r"(?:%[0-9a-fA-F]{2})+")


class UrldecodeFilter(Filter):
    """Percent-decodes ``field`` or every field."""

    Config = UrldecodeConfig
    runs_on_event_loop = True
    config: UrldecodeConfig

    def __init__(self, config: UrldecodeConfig, *, id: str,
                 context: PluginContext | None = None) -> None:
        super().__init__(config, id=id, context=context)
        self._field = parse(config.field)
        self._charset = config.charset
        self._actions = CommonActions(config)

    def writes(self) -> Writes:
        """The field, or with ``all_fields`` every top-level field: decoded values are
        new objects (nothing is changed in place or aliased); the failure tags; the
        common options."""
        target = set_paths((ANY_KEY,)) if self.config.all_fields else set_paths(self._field)
        return target + TAGS_CHANGE + common_writes(self.config)

    def _run(self, match: re.Match[str]) -> str:
        raw = bytes.fromhex(match.group(0).replace("%", ""))
        return raw.decode(self._charset, errors="replace")

    def decode(self, value: Any) -> Any:
        if isinstance(value, str):
            return _ESCAPES.sub(self._run, value) if "%" in value else value
        if isinstance(value, list):
            return [self.decode(v) for v in value]
        if isinstance(value, dict):
            return {k: self.decode(v) for k, v in value.items()}
        return value

    def process(self, events: list[Event]) -> list[Event]:
        for event in events:
            try:
                if self.config.all_fields:
                    for name, value in list(event.data.items()):
                        if name != TIMESTAMP:
                            event.data[name] = self.decode(value)
                elif event.contains_path(self._field):
                    event.set_path(self._field, self.decode(event.get_path(self._field)))
            except Exception as exc:   # a bad value is the event's problem, not the batch's
                self.log.debug("urldecode failed: %s", exc)
                event.add_tag(*self.config.tag_on_failure)
        self._actions.apply(events)
        return events
