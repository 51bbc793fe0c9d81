"""The event: a dict of fields plus ``@metadata`` that is never written out.

An event is deliberately thin (two slots) so that a batch of ten thousand costs
little more than ten thousand dicts. ``@timestamp`` is a timezone-aware
``datetime`` in UTC; serializers turn it into RFC 3339 text.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable, Iterable

from logpipe.core.fieldref import Path, parse

TIMESTAMP = "@timestamp"
METADATA = "@metadata"
TAGS = "tags"

_MISSING: Any = object()
_utc = timezone.utc
_dict_get = dict.get


def now() -> datetime:
    return datetime.now(_utc)


def _get_slow(root: Any, path: Path, default: Any) -> Any:
    """The careful walk: list indexes, scalars in the way, absent keys."""
    cur = root
    for key in path:
        if isinstance(cur, dict):
            cur = cur.get(key, _MISSING)
            if cur is _MISSING:
                return default
        elif isinstance(cur, list):
            try:
                cur = cur[int(key)]
            except (ValueError, IndexError):
                return default
        else:
            return default
    return cur


def _index(items: list[Any], key: str) -> int | None:
    """The position ``key`` names in a list (negative counts from the end), if any."""
    try:
        index = int(key)
    except ValueError:
        return None
    if -len(items) <= index < len(items):
        return index if index >= 0 else len(items) + index
    return None


def _slot(items: list[Any], key: str) -> int | None:
    """Like :func:`_index`, but a position past the end grows the list with nulls."""
    index = _index(items, key)
    if index is None and key.isdigit():
        index = int(key)
        items.extend([None] * (index + 1 - len(items)))
    return index


def _item(items: Any, key: str) -> Any:
    if isinstance(items, list):
        index = _index(items, key)
        return None if index is None else items[index]
    return None


def _set_in_list(items: list[Any], path: Path, value: Any) -> None:
    """Set ``path`` (its first key a position in ``items``) below a list element."""
    index = _slot(items, path[0])
    assert index is not None
    if len(path) == 1:
        items[index] = value
        return
    element = items[index]
    if isinstance(element, list) and _slot(element, path[1]) is not None:
        _set_in_list(element, path[1:], value)
        return
    if not isinstance(element, dict):
        element = {}
        items[index] = element
    holder = Event.__new__(Event)
    holder.data = element
    holder.metadata = {}
    holder.set_path(path[1:], value)


class Event:
    """One log event.

    ``data`` holds what is written out; ``metadata`` travels with the event for
    inputs, filters and outputs to talk to each other (Kafka coordinates,
    HTTP headers) and is dropped by every serializer.
    """

    __slots__ = ("data", "metadata")

    def __init__(self, data: dict[str, Any] | None = None,
                 metadata: dict[str, Any] | None = None) -> None:
        if data is None:
            data = {}
        if TIMESTAMP not in data:
            data[TIMESTAMP] = now()
        meta_in = data.pop(METADATA, None)
        self.data = data
        self.metadata = metadata if metadata is not None else (
            meta_in if isinstance(meta_in, dict) else {})

    @classmethod
    def from_message(cls, message: str, metadata: dict[str, Any] | None = None) -> Event:
        return cls({"message": message}, metadata)

    # --- field access -----------------------------------------------------------------
    # These are the hottest functions in the project: every filter reads and writes
    # fields through them. The common cases (a plain dict walk, a one-key path) take
    # the shortest route; lists, scalars in the way and @metadata take the slow one.

    def get(self, ref: str, default: Any = None) -> Any:
        return self.get_path(parse(ref), default)

    def get_path(self, path: Path, default: Any = None) -> Any:
        # Absent fields are as common as present ones (conditions and enrichers probe
        # for optional fields), so the walk uses ``dict.get`` rather than paying for a
        # raised KeyError. ``dict.get`` refuses anything that is not a dict (a list, a
        # scalar in the way) with TypeError; those take the careful walk.
        root: Any = self.data
        if path[0] == METADATA:
            root = self.metadata
            path = path[1:]
        cur = root
        try:
            for key in path:
                cur = _dict_get(cur, key, _MISSING)
                if cur is _MISSING:
                    return default
            return cur
        except TypeError:
            return _get_slow(root, path, default)

    def contains(self, ref: str) -> bool:
        return self.get_path(parse(ref), _MISSING) is not _MISSING

    def contains_path(self, path: Path) -> bool:
        return self.get_path(path, _MISSING) is not _MISSING

    def set(self, ref: str, value: Any) -> None:
        self.set_path(parse(ref), value)

    def set_path(self, path: Path, value: Any) -> None:
        cur = self.data
        if path[0] == METADATA:
            if len(path) == 1:
                if not isinstance(value, dict):
                    raise TypeError("@metadata must be a mapping")
                self.metadata = value
                return
            cur = self.metadata
            path = path[1:]
        last = len(path) - 1
        i = 0
        while i < last:
            key = path[i]
            nxt = cur.get(key)
            if nxt.__class__ is not dict:
                if isinstance(nxt, list) and _slot(nxt, path[i + 1]) is not None:
                    _set_in_list(nxt, path[i + 1:], value)   # ``[list][0]`` is an element
                    return
                if not isinstance(nxt, dict):
                    nxt = {}
                    cur[key] = nxt
            cur = nxt
            i += 1
        cur[path[last]] = value

    def delete(self, ref: str) -> Any:
        return self.delete_path(parse(ref))

    def delete_path(self, path: Path) -> Any:
        """Remove a field; returns its value, or None when it was absent."""
        cur: Any = self.data
        if path[0] == METADATA:
            if len(path) == 1:
                old = self.metadata
                self.metadata = {}
                return old
            cur = self.metadata
            path = path[1:]
        for key in path[:-1]:
            cur = cur.get(key) if isinstance(cur, dict) else _item(cur, key)
            if not isinstance(cur, (dict, list)):
                return None
        if isinstance(cur, list):
            index = _index(cur, path[-1])
            return None if index is None else cur.pop(index)
        return cur.pop(path[-1], None)

    # --- tags ------------------------------------------------------------------------
    @property
    def tags(self) -> list[str]:
        tags = self.data.get(TAGS)
        if not isinstance(tags, list):
            tags = [] if tags is None else [tags]
            self.data[TAGS] = tags
        return tags

    def add_tag(self, *tags: str) -> None:
        current = self.data.get(TAGS)
        if current.__class__ is not list:
            current = self.tags
        for tag in tags:
            if tag not in current:
                current.append(tag)

    def has_tag(self, tag: str) -> bool:
        tags = self.data.get(TAGS)
        return isinstance(tags, list) and tag in tags

    def remove_tag(self, *tags: str) -> None:
        current = self.data.get(TAGS)
        if isinstance(current, list):
            current[:] = [t for t in current if t not in tags]

    # --- misc ------------------------------------------------------------------------
    @property
    def timestamp(self) -> datetime:
        ts = self.data.get(TIMESTAMP)
        return ts if isinstance(ts, datetime) else now()

    def sprintf(self, template: str) -> str:
        from logpipe.core.sprintf import compile_template
        return compile_template(template)(self)

    def copy(self) -> Event:
        """A deep copy, for filters that split or clone events."""
        import copy as _copy
        return Event(_copy.deepcopy(self.data), _copy.deepcopy(self.metadata))

    def to_dict(self) -> dict[str, Any]:
        """What serializers write: the data without ``@metadata``."""
        return self.data

    def __repr__(self) -> str:
        return f"Event({self.data!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Event) and other.data == self.data and other.metadata == self.metadata


def reader(path: Path) -> Callable[[Event], Any]:
    """A function of an event answering what ``event.get_path(path)`` answers.

    For code that reads the same field of every event of a batch (conditions,
    templates, the sample filter): the usual shapes (one key, ``[a][b]``,
    ``[a][b][c]``, ``[@metadata][x]``) become a few inline ``dict.get`` calls
    instead of a call to :meth:`Event.get_path` and its loop. Anything unusual on
    the way (a list index, a scalar, a dict subclass) is handed to ``get_path``,
    so the answers are the same by construction.
    """
    get_path = Event.get_path
    if path[0] == METADATA:
        if len(path) == 2:
            meta_key = path[1]
            return lambda e: e.metadata.get(meta_key)
        return lambda e: get_path(e, path)
    if len(path) == 1:
        key = path[0]
        return lambda e: e.data.get(key)
    if len(path) == 2:
        outer, inner = path

        def two(e: Event) -> Any:
            node = e.data.get(outer)
            if type(node) is dict:
                return node.get(inner)
            return None if node is None else get_path(e, path)
        return two
    if len(path) == 3:
        first, second, third = path

        def three(e: Event) -> Any:
            node = e.data.get(first)
            if type(node) is dict:
                node = node.get(second)
                if type(node) is dict:
                    return node.get(third)
            return None if node is None else get_path(e, path)
        return three
    return lambda e: get_path(e, path)


_new_object = object.__new__


def adopt(data: dict[str, Any], metadata: dict[str, Any]) -> Event:
    """An event around a dict its caller just built, with no checks.

    For inputs' hot loops: ``data`` must already hold ``@timestamp`` (one time per
    batch is fine) and no ``@metadata`` key; ``metadata`` must be a fresh dict.
    Skipping :meth:`Event.__init__`'s checks halves the cost of making an event.
    """
    event = _new_object(Event)
    event.data = data
    event.metadata = metadata
    return event


def events_from(items: Iterable[dict[str, Any]]) -> list[Event]:
    return [Event(dict(item)) for item in items]
