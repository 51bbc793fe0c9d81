"""The dedupe filter: a bounded, time-limited memory of identities.

Identities are BLAKE2b digests of the chosen field values (or the fingerprint
field as is), so memory per entry is small and fixed. The cache is an ordered
dict used as an LRU: hits move to the end, the oldest entry goes when full.
Each worker remembers on its own; put a ``fingerprint`` filter and a
deterministic document id in front when duplicates may reach different workers.
"""
from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from typing import Any

import orjson

from logpipe.core.event import Event
from logpipe.core.fieldref import parse
from logpipe.core.plugin import Filter, PluginContext
from logpipe.filters.dedupe.config import DedupeConfig
from logpipe.filters.dedupe.metrics import DedupeMetrics


class DedupeFilter(Filter):
    """Returns the events whose identity was not seen within the window, in order."""

    Config = DedupeConfig
    runs_on_event_loop = True
    config: DedupeConfig

    def __init__(self, config: DedupeConfig, *, id: str, context: PluginContext | None = None,
                 clock: Any = time.monotonic) -> None:
        super().__init__(config, id=id, context=context)
        self._fields = tuple(parse(f) for f in config.fields)
        self._fingerprint = parse(config.fingerprint) if config.fingerprint else None
        self._count = parse(config.count_field) if config.count_field else None
        self._seen: OrderedDict[Any, list[float]] = OrderedDict()  # identity -> [first seen, dropped]
        self._clock = clock
        self._metrics = DedupeMetrics(self.context, id)

    def _identity(self, event: Event) -> Any:
        if self._fingerprint is not None:
            value = event.get_path(self._fingerprint)
            return value if isinstance(value, (str, int)) else orjson.dumps(value, default=str)
        values = [event.get_path(p) for p in self._fields]
        return hashlib.blake2b(orjson.dumps(values, default=str), digest_size=16).digest()

    def process(self, events: list[Event]) -> list[Event]:
        now = self._clock()
        window = self.config.window_seconds
        seen = self._seen
        kept: list[Event] = []
        dropped = 0
        for event in events:
            ident = self._identity(event)
            entry = seen.get(ident)
            if entry is not None and now - entry[0] < window:
                entry[1] += 1
                seen.move_to_end(ident)
                dropped += 1
                continue
            if entry is not None and entry[1] and self._count is not None:
                event.set_path(self._count, int(entry[1]))
            seen[ident] = [now, 0]
            seen.move_to_end(ident)
            if len(seen) > self.config.cache_size:
                seen.popitem(last=False)
            kept.append(event)
        self._metrics.add(len(kept), dropped)
        return kept
