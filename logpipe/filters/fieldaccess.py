"""Readers and writers for one fixed field, for the enrichment filters' per-event loops.

An enricher reads its source and writes its target once per event, always the
same path. ``Event.get_path``/``set_path`` take any path, so they check for
``@metadata`` and loop over the keys every time. The functions made here know
the path: a field one or two objects deep (``[source][ip]``,
``[@metadata][request_time]``) is one or two ``dict.get`` calls, a deeper one a
loop over its keys. Whatever the quick walk does not expect (a list or a
scalar on the way) goes to the event's own accessors, so the answers are theirs.
"""
from __future__ import annotations

from typing import Any, Callable

from logpipe.core.event import METADATA, Event
from logpipe.core.fieldref import Path

Getter = Callable[[Event], Any]
Setter = Callable[[Event, Any], None]


def getter(path: Path) -> Getter:
    """``event.get_path(path)`` (None when absent), for one fixed path."""
    in_meta = path[0] == METADATA
    keys = path[1:] if in_meta else path
    if not keys:
        def get_any(event: Event) -> Any:
            return event.get_path(path)
        return get_any
    if len(keys) == 1:
        [key] = keys
        if in_meta:
            def get_meta_top(event: Event) -> Any:
                return event.metadata.get(key)
            return get_meta_top

        def get_top(event: Event) -> Any:
            return event.data.get(key)
        return get_top
    if len(keys) == 2:
        outer, inner = keys

        def get_nested(event: Event) -> Any:
            node = (event.metadata if in_meta else event.data).get(outer)
            if type(node) is dict:
                return node.get(inner)
            if node is None:
                return None
            return event.get_path(path)        # a list or a scalar on the way
        return get_nested
    parents, last = keys[:-1], keys[-1]

    def get_deep(event: Event) -> Any:
        node: Any = event.metadata if in_meta else event.data
        for key in parents:
            node = node.get(key)
            if type(node) is not dict:
                return None if node is None else event.get_path(path)
        return node.get(last)
    return get_deep


def setter(path: Path) -> Setter:
    """``event.set_path(path, value)``, for one fixed path."""
    in_meta = path[0] == METADATA
    keys = path[1:] if in_meta else path
    if len(keys) == 1:
        [key] = keys

        def set_top(event: Event, value: Any) -> None:
            (event.metadata if in_meta else event.data)[key] = value
        return set_top
    if len(keys) == 2:
        outer, inner = keys

        def set_nested(event: Event, value: Any) -> None:
            node = (event.metadata if in_meta else event.data).get(outer)
            if type(node) is dict:
                node[inner] = value
            else:
                event.set_path(path, value)    # creates the object, or handles what is in the way
        return set_nested

    def set_any(event: Event, value: Any) -> None:
        event.set_path(path, value)
    return set_any
