"""The dedupe filter's figures, published through the plugin context's metrics:
``logpipe_dedupe_events_total{pipeline, plugin, decision}`` (kept or dropped)."""
from __future__ import annotations

from logpipe.core.plugin import PluginContext


DEDUPE_METRIC = "dedupe_events_total"
HELP = "Events the dedupe filter saw, by decision (kept, dropped)."


class DedupeMetrics:
    def __init__(self, context: PluginContext, plugin_id: str) -> None:
        registry = context.metrics
        base = {"pipeline": context.pipeline, "plugin": plugin_id}
        self._kept = registry.counter(DEDUPE_METRIC, {**base, "decision": "kept"}, help=HELP)
        self._dropped = registry.counter(DEDUPE_METRIC, {**base, "decision": "dropped"}, help=HELP)

    def add(self, kept: int, dropped: int) -> None:
        if kept:
            self._kept.inc(kept)
        if dropped:
            self._dropped.inc(dropped)
