"""The graphmemory pipeline's filters, run in this process on a list of events."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, cast

from logpipe.core.event import Event
from logpipe.core.plugin import Filter, PluginContext
from logpipe.runtime.metrics import MetricsRegistry

ROOT = Path(__file__).resolve().parents[2]


class Chain:
    """Every filter of pipelines/graphmemory.yaml, conditions included, with a metrics
    registry like a worker's."""

    def __init__(self, **env: str) -> None:
        import asyncio

        from logpipe.config.loader import load_file
        from logpipe.core.metrics import PipelineStats
        from logpipe.core.stages import FilterStage

        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        os.environ.setdefault("LOGPIPE_SCRUB_KEY", "test-key")
        try:
            spec = load_file(ROOT / "pipelines" / "graphmemory.yaml")
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        self.metrics = MetricsRegistry()
        context = PluginContext(pipeline=spec.name, settings=spec.settings, metrics=self.metrics)
        stats = PipelineStats()
        self.stages = [FilterStage(cast("Filter", e.cls(e.config, id=e.id, context=context)), e.predicate,
                                   stats.plugin("filter", e.type, e.id)) for e in spec.filters]
        for stage in self.stages:
            asyncio.run(stage.plugin.start())

    def run(self, items: list[dict[str, Any]]) -> list[Event]:
        events = [Event(dict(item)) for item in items]
        for stage in self.stages:
            events = stage.run(events)
        return events

    def counter(self, name: str, **labels: str) -> float:
        total = 0.0
        for family in self.metrics.snapshot():
            if family["name"] != name:
                continue
            for sample_labels, value in family["samples"]:
                if all(sample_labels.get(k) == v for k, v in labels.items()):
                    total += value
        return total
