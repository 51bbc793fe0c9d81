"""The clone filter.

The copies follow their original in the batch, in the order of ``clones``. The
common options (``add_field``, ``add_tag``...) apply to the copies only, as in
Logstash, so that a condition on them can tell copies from originals.
"""
from __future__ import annotations

from logpipe.core.event import Event
from logpipe.core.plugin import Filter, PluginContext
from logpipe.filters.clone.config import CloneConfig
from logpipe.core.writes import TAGS_CHANGE, Writes, sets
from logpipe.filters.common import CommonActions, common_writes


class CloneFilter(Filter):
    """Each event followed by its copies."""

    Config = CloneConfig
    runs_on_event_loop = True
    config: CloneConfig

    def __init__(self, config: CloneConfig, *, id: str,
                 context: PluginContext | None = None) -> None:
        super().__init__(config, id=id, context=context)
        self._names = list(config.clones)
        self._as_type = config.ecs_compatibility == "disabled"
        self._actions = CommonActions(config)

    def writes(self) -> Writes:
        """Copies are deep (Event.copy): nothing is aliased between the original and
        its copies. Their ``type`` or tag, and the common options."""
        return sets("type") + TAGS_CHANGE + common_writes(self.config)

    def process(self, events: list[Event]) -> list[Event]:
        if not self._names:
            return events
        out: list[Event] = []
        made: list[Event] = []
        for event in events:
            out.append(event)
            for name in self._names:
                copy = event.copy()
                if self._as_type:
                    copy.data["type"] = name
                else:
                    copy.add_tag(name)
                out.append(copy)
                made.append(copy)
        self._actions.apply(made)
        return out
