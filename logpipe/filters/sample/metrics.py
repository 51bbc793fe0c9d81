"""The sample filter's figures on /metrics, published through the plugin context's
metrics: kept and dropped events per pipeline, plugin and key.

``logpipe_sample_events_total{pipeline, plugin, key, decision}`` where decision is
``kept`` (sampled in), ``kept_always`` (a keep condition held) or ``dropped``. With
sampling off (``rate: 1``) every event counts as key ``_unsampled``, decision ``kept``.
"""
from __future__ import annotations

from logpipe.core.plugin import PluginContext
from logpipe.core.telemetry import Counter

SAMPLE_METRIC = "sample_events_total"
HELP = "Events the sample filter saw, by key and decision (kept, kept_always, dropped)."


class SampleMetrics:
    def __init__(self, context: PluginContext, plugin_id: str) -> None:
        self._registry = context.metrics
        self._base = {"pipeline": context.pipeline, "plugin": plugin_id}
        self._children: dict[tuple[str, str], Counter] = {}

    def add(self, key: str, decision: str, n: int) -> None:
        child = self._children.get((key, decision))
        if child is None:
            child = self._children[(key, decision)] = self._registry.counter(
                SAMPLE_METRIC, {**self._base, "key": key, "decision": decision}, help=HELP)
        child.inc(n)
