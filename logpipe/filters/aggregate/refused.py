"""Logstash's ``aggregate`` filter, registered only to be refused clearly.

aggregate keeps a map per task id across events and assumes every event of a
task passes through the same filter instance, in order: Logstash requires
``pipeline.workers: 1`` for it. logpipe spreads events over worker processes
(and over Kafka partitions), so the events of one task meet different maps and
the results would be silently wrong. A pipeline naming it fails at load with
this explanation instead of running.
"""
from __future__ import annotations

from typing import Any

from pydantic import model_validator

from logpipe.core.event import Event
from logpipe.core.plugin import Filter, PluginConfig

REASON = (
    "the aggregate filter is not supported: it keeps per-task state that is only correct "
    "when every event of a task passes through one filter instance in order, and logpipe "
    "runs filters in several worker processes, so results would be silently wrong. "
    "Instead: correlate at the source (e.g. Kafka message keys with one partition per "
    "task), aggregate downstream in Elasticsearch (transforms or an aggregation query), "
    "or, for a per-event counter or window within one worker, use the `python` filter "
    "(its state is per worker process) or `throttle`.")


class AggregateConfig(PluginConfig):
    """Refused at load: see the module documentation."""

    @model_validator(mode="before")
    @classmethod
    def _refuse(cls, data: Any) -> Any:
        raise ValueError(REASON)


class AggregateFilter(Filter):
    """Never built: its Config refuses every setting."""

    Config = AggregateConfig

    def process(self, events: list[Event]) -> list[Event]:   # pragma: no cover
        raise NotImplementedError(REASON)
