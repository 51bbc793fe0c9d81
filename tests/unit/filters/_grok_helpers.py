"""Helpers shared by the grok tests."""
from __future__ import annotations

from typing import Any

from logpipe.core.event import Event
from logpipe.filters.grok import Compiler, GrokFilter


def captures(expression: str, line: str, ecs: str = "v8") -> dict[str, Any] | None:
    """The fields one line gives (without @timestamp), or None when it does not match."""
    expr = Compiler(ecs_compatibility=ecs).compile(expression)
    event = Event({"@timestamp": None})
    del event.data["@timestamp"]
    return event.data if expr.match_into(event, line, 1.0) else None


def grok(match: dict[str, Any], *events: dict[str, Any], **options: Any) -> list[Event]:
    f = GrokFilter(GrokFilter.Config(match=match, **options), id="grok-test")
    return f.process([Event(dict(e)) for e in events])
