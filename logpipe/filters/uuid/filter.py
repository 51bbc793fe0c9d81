"""The uuid filter: a random version-4 UUID per event, as text."""
from __future__ import annotations

import uuid

from logpipe.core.event import Event
from logpipe.core.fieldref import parse
from logpipe.core.plugin import Filter, PluginContext
from logpipe.filters.common import CommonActions
from logpipe.filters.uuid.config import UuidConfig


class UuidFilter(Filter):
    """Sets ``target`` to a fresh UUID (unless it holds a value and
    ``overwrite`` is off); the common options apply to every event, as in Logstash."""

    Config = UuidConfig
    runs_on_event_loop = True
    config: UuidConfig

    def __init__(self, config: UuidConfig, *, id: str,
                 context: PluginContext | None = None) -> None:
        super().__init__(config, id=id, context=context)
        self._target = parse(config.target)
        self._actions = CommonActions(config)

    def process(self, events: list[Event]) -> list[Event]:
        for event in events:
            if self.config.overwrite or event.get_path(self._target) is None:
                event.set_path(self._target, str(uuid.uuid4()))
        self._actions.apply(events)
        return events
