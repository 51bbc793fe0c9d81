"""The grok filter's figure on /metrics, published through the plugin context's metrics: ``logpipe_parse_failures_total{pipeline, plugin}``, events no expression
matched (timeouts are not counted here; they carry ``_groktimeout``)."""
from __future__ import annotations

from logpipe.core.plugin import PluginContext


PARSE_FAILURES_METRIC = "parse_failures_total"
HELP = "Events a parsing filter could not parse (tagged, and passed on)."


class ParseFailureMetrics:
    def __init__(self, context: PluginContext, plugin_id: str) -> None:
        self._failures = context.metrics.counter(
            PARSE_FAILURES_METRIC, {"pipeline": context.pipeline, "plugin": plugin_id}, help=HELP)

    def add(self, n: int) -> None:
        if n:
            self._failures.inc(n)
