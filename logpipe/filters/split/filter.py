"""The split filter.

Each piece becomes a deep copy of the original event with the piece in
``target``; the new events replace the original, in order, at its place in the
batch. Empty pieces are skipped. Text with no terminator leaves the event as it
is; a field that is neither text nor list gets ``_split_type_failure``.
"""
from __future__ import annotations

import copy

from logpipe.core.event import Event
from logpipe.core.fieldref import parse
from logpipe.core.plugin import Filter, PluginContext
from logpipe.filters.common import CommonActions
from logpipe.filters.split.config import SplitConfig

TYPE_FAILURE_TAG = "_split_type_failure"


class SplitFilter(Filter):
    """Replaces each event by one event per piece of ``field``."""

    Config = SplitConfig
    runs_on_event_loop = True
    config: SplitConfig

    def __init__(self, config: SplitConfig, *, id: str,
                 context: PluginContext | None = None) -> None:
        super().__init__(config, id=id, context=context)
        self._field = parse(config.field)
        self._target = parse(config.target) if config.target else self._field
        self._actions = CommonActions(config)

    def process(self, events: list[Event]) -> list[Event]:
        out: list[Event] = []
        made: list[Event] = []
        for event in events:
            value = event.get_path(self._field)
            if value is None:
                out.append(event)
                continue
            if isinstance(value, str):
                pieces: list[object] = list(value.split(self.config.terminator))
                if len(pieces) == 1:
                    out.append(event)
                    continue
            elif isinstance(value, list):
                pieces = value
            else:
                event.add_tag(TYPE_FAILURE_TAG)
                out.append(event)
                continue
            for piece in pieces:
                if piece == "" or piece is None:
                    continue
                clone = event.copy()
                clone.set_path(self._target, piece if isinstance(piece, str)
                               else copy.deepcopy(piece))
                out.append(clone)
                made.append(clone)
        self._actions.apply(made)
        return out
