"""Readers and writers for one fixed field, for the enrichment filters' per-event loops.

An enricher reads its source and writes its target once per event, always the
same path. ``Event.get_path``/``set_path`` take any path, so they check for
``@metadata`` and loop over the keys every time. The functions made here know
the path: a field one or two objects deep (``[source][ip]``,
``[@metadata][request_time]``) is one or two ``dict`` operations. Whatever the
quick walk does not expect (a list or a scalar on the way, deeper paths) goes
to the event's own accessors, so the answers are theirs. Reading is the core's
:func:`logpipe.core.event.reader`; writing is here.
"""
from __future__ import annotations

from typing import Any, Callable

from logpipe.core.event import METADATA, Event, reader
from logpipe.core.fieldref import Path

Getter = Callable[[Event], Any]
Setter = Callable[[Event, Any], None]


def getter(path: Path) -> Getter:
    """``event.get_path(path)`` (None when absent), for one fixed path: the core's
    :func:`logpipe.core.event.reader`, named here next to its writer."""
    return reader(path)


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
