"""Field readers for fields that are usually absent.

The classifier reads a dozen fields per event and most are missing from any
one event (an access line has no ``error.*``, an app log no ``url.*``).
``Event.get_path`` is tuned for present fields and pays for an exception on
absent ones; these readers walk with ``dict.get`` instead, for plain object
paths. Paths into ``@metadata`` or through list indexes use ``get_path``.
"""
from __future__ import annotations

from typing import Any, Callable

from logpipe.core.event import METADATA, Event
from logpipe.core.fieldref import parse

Reader = Callable[[Event], Any]


def reader(ref: str) -> Reader:
    path = parse(ref)
    if path[0] == METADATA or any(key.isdigit() for key in path):
        return lambda event: event.get_path(path)
    if len(path) == 1:
        key = path[0]
        return lambda event: event.data.get(key)
    if len(path) == 2:
        first, second = path

        def two(event: Event) -> Any:
            cur = event.data.get(first)
            return cur.get(second) if type(cur) is dict else None
        return two

    def walk(event: Event) -> Any:
        cur: Any = event.data
        for key in path:
            if type(cur) is not dict:
                return None
            cur = cur.get(key)
            if cur is None:
                return None
        return cur
    return walk
