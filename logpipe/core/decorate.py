"""Logstash's common input options, applied by the engine as an input submits events.

``type`` (here ``event_type``) sets ``[type]`` on events that have none, ``tags``
adds tags, ``add_field`` adds fields (``%{...}`` templates in names and values), in
that order, as Logstash's inputs do. Written once here so that no input plugin
has to know about them, for YAML and ``.conf`` pipelines alike.
"""
from __future__ import annotations

from typing import Any, Callable

from logpipe.core.event import Event

Decorator = Callable[[list[Event]], None]


def decorator_for(decoration: Any) -> Decorator | None:
    """A function that decorates a list of events in place; None when there is nothing to do."""
    if decoration is None:
        return None
    event_type = decoration.event_type
    tags = tuple(decoration.tags)
    add_field = None
    if decoration.add_field:
        from logpipe.filters.common import CommonActions, CommonOptions
        add_field = CommonActions(CommonOptions(add_field=decoration.add_field))
    if event_type is None and not tags and add_field is None:
        return None

    def decorate(events: list[Event]) -> None:
        for event in events:
            data = event.data
            if event_type is not None and "type" not in data:
                data["type"] = event_type
            if tags:
                event.add_tag(*tags)
        if add_field is not None:
            add_field.apply(events)
    return decorate
