"""Build a filter from options and run events through it."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from logpipe.core.event import Event
from logpipe.core.plugin import Filter

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def build(cls: type[Filter], **options: Any) -> Filter:
    return cls(cls.Config.model_validate(options), id="f")


def run(cls: type[Filter], events: list[dict[str, Any]] | dict[str, Any],
        **options: Any) -> list[Event]:
    if isinstance(events, dict):
        events = [events]
    return build(cls, **options).process([Event({"@timestamp": T0, **e}) for e in events])


def fields(event: Event) -> dict[str, Any]:
    """The event's fields without ``@timestamp``."""
    return {k: v for k, v in event.data.items() if k != "@timestamp"}
