"""The grok filter's figure on /metrics, in one place so it can move with the plugin
context: ``logpipe_parse_failures_total{pipeline, plugin}``, events no expression
matched (timeouts are not counted here; they carry ``_groktimeout``)."""
from __future__ import annotations

from typing import Any

from logpipe.runtime.metrics import metrics_for

PARSE_FAILURES_METRIC = "parse_failures_total"
HELP = "Events a parsing filter could not parse (tagged, and passed on)."


class ParseFailureMetrics:
    def __init__(self, context: Any, plugin_id: str) -> None:
        self._failures = metrics_for(context).counter(
            PARSE_FAILURES_METRIC, {"pipeline": getattr(context, "pipeline", ""), "plugin": plugin_id}, help=HELP)

    def add(self, n: int) -> None:
        if n:
            self._failures.inc(n)
