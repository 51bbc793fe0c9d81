"""Counters the engine keeps for every plugin, so plugins write none themselves.

Plain attributes on small objects: the hot path pays an addition per batch.
The runtime exposes them (Prometheus, ``logpipe top``).
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class PluginStats:
    kind: str
    type: str
    id: str
    events_in: int = 0
    events_out: int = 0
    failures: int = 0
    seconds: float = 0.0


@dataclass
class PipelineStats:
    plugins: dict[str, PluginStats] = field(default_factory=dict)
    batches: int = 0
    events_acked: int = 0
    events_failed: int = 0
    #: Events an output rejected that went to the dead-letter queue (counted in events_acked).
    events_dead_lettered: int = 0

    def plugin(self, kind: str, type_: str, id_: str) -> PluginStats:
        stats = self.plugins.get(id_)
        if stats is None:
            stats = self.plugins[id_] = PluginStats(kind, type_, id_)
        return stats

    def snapshot(self) -> dict[str, object]:
        return {
            "batches": self.batches,
            "events_acked": self.events_acked,
            "events_failed": self.events_failed,
            "events_dead_lettered": self.events_dead_lettered,
            "plugins": {k: vars(v).copy() for k, v in self.plugins.items()},
        }
