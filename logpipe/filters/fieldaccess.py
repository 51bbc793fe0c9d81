"""Readers and writers for one fixed field, for the enrichment filters' per-event loops.

An enricher reads its source and writes its target once per event, always the
same path. ``Event.get_path``/``set_path`` take any path, so they loop over
its keys and check for ``@metadata`` every time. The functions made here know
the path: a field one or two objects deep (``[source][ip]``,
``[user_agent][original]``) is read with one or two ``dict.get`` calls. Whatever
the quick walk does not expect (a list or a scalar on the way, ``@metadata``,
deeper paths) goes to the event's own accessors, so the answers are theirs.
"""
from __future__ import annotations

from typing import Any, Callable

from logpipe.core.event import METADATA, Event
from logpipe.core.fieldref import Path

Getter = Callable[[Event], Any]
Setter = Callable[[Event, Any], None]


def getter(path: Path) -> Getter:
    """``event.get_path(path)`` (None when absent), for one fixed path."""
    if path[0] == METADATA or len(path) > 2:
        def get_any(event: Event) -> Any:
            return event.get_path(path)
        return get_any
    if len(path) == 1:
        [key] = path

        def get_top(event: Event) -> Any:
            return event.data.get(key)
        return get_top
    outer, inner = path

    def get_nested(event: Event) -> Any:
        node = event.data.get(outer)
        if type(node) is dict:
            return node.get(inner)
        if node is None:
            return None
        return event.get_path(path)        # a list or a scalar on the way
    return get_nested


def setter(path: Path) -> Setter:
    """``event.set_path(path, value)``, for one fixed path."""
    if path[0] == METADATA or len(path) > 2:
        def set_any(event: Event, value: Any) -> None:
            event.set_path(path, value)
        return set_any
    if len(path) == 1:
        [key] = path

        def set_top(event: Event, value: Any) -> None:
            event.data[key] = value
        return set_top
    outer, inner = path

    def set_nested(event: Event, value: Any) -> None:
        node = event.data.get(outer)
        if type(node) is dict:
            node[inner] = value
        else:
            event.set_path(path, value)    # creates the object, or handles what is in the way
    return set_nested
