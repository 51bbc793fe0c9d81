"""``drop``: discard the events that reach it (usually behind an ``if:``).

With ``percentage`` below 100 each event is dropped with that probability, as in
Logstash; ``seed`` makes the choice reproducible (tests, sampling audits). The
engine, not this filter, acknowledges dropped events with their batch, so a
deliberate drop never holds up an input.
"""
from __future__ import annotations

import random
from typing import Any, ClassVar

from pydantic import Field

from logpipe.core.event import Event
from logpipe.core.logstash import Options
from logpipe.core.plugin import Filter, PluginConfig, PluginContext
from logpipe.core.writes import Writes


class DropConfig(PluginConfig):
    """Settings of the drop filter."""

    logstash_defaults: ClassVar[dict[str, Any]] = {}

    @classmethod
    def from_logstash(cls, options: dict[str, Any]) -> dict[str, Any]:
        """Logstash's drop never applies the common filter options (a dropped event is gone,
        a spared one is left untouched): they are accepted without effect."""
        opts = Options("drop filter", options)
        opts.ignore("add_field", "add_tag", "remove_field", "remove_tag", "enable_metric",
                    "periodic_flush")
        return opts.result()

    percentage: float = Field(default=100, ge=0, le=100, description=(
        "Share of events to drop, 0 to 100; each event is dropped independently at "
        "random with this probability."))
    seed: int | None = Field(default=None, description=(
        "Seed of the random choice when percentage is below 100; unset means a fresh "
        "seed per worker. Each worker adds its index, so workers do not drop in step."))


class DropFilter(Filter):
    """Returns only the events that survive the draw (none at 100%)."""

    Config = DropConfig
    runs_on_event_loop = True

    def __init__(self, config: DropConfig, *, id: str,
                 context: PluginContext | None = None) -> None:
        super().__init__(config, id=id, context=context)
        self.config: DropConfig = config
        seed = None if config.seed is None else config.seed + self.context.worker_index
        self._random = random.Random(seed).random
        self._drop_share = config.percentage / 100.0

    def writes(self) -> Writes:
        """It only discards events."""
        return Writes.nothing()

    def process(self, events: list[Event]) -> list[Event]:
        threshold = self._drop_share
        if threshold >= 1.0:
            return []
        if threshold <= 0.0:
            return events
        draw = self._random
        return [event for event in events if draw() >= threshold]
