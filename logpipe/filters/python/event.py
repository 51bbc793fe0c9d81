"""The event as user code sees it: Logstash's Ruby event API, in Python.

A :class:`ScriptEvent` wraps a logpipe :class:`~logpipe.core.event.Event` and
adds what the Ruby API has and the engine's event does not need: ``cancel``,
``tag``, ``includes`` (Ruby's ``include?``), ``to_hash``. Field references are
Logstash's (``[a][b]``, ``[@metadata][x]``) or dotted (``a.b``).
"""
from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from logpipe.core.event import METADATA, TIMESTAMP, Event
from logpipe.core.fieldref import parse

_MISSING: Any = object()


def _timestamp(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    raise TypeError(f"@timestamp must be a datetime or ISO 8601 text, not {type(value).__name__}")


class ScriptEvent:
    """One event, with the methods of Logstash's Ruby event."""

    __slots__ = ("_event", "cancelled")

    def __init__(self, data: dict[str, Any] | Event | None = None) -> None:
        if isinstance(data, Event):
            self._event = data
        else:
            fields = dict(data or {})
            if TIMESTAMP in fields:
                fields[TIMESTAMP] = _timestamp(fields[TIMESTAMP])
            self._event = Event(fields)
        #: True once :meth:`cancel` was called: the event is dropped.
        self.cancelled = False

    @property
    def event(self) -> Event:
        """The engine's event underneath."""
        return self._event

    # --- fields --------------------------------------------------------------------
    def get(self, field: str, default: Any = None) -> Any:
        """The value at a field reference, or ``default`` (None) when absent."""
        return self._event.get(field, default)

    def set(self, field: str, value: Any) -> None:
        path = parse(field)
        if path == (TIMESTAMP,):
            value = _timestamp(value)
        self._event.set_path(path, value)

    def remove(self, field: str) -> Any:
        """Remove a field; returns its value (None when it was absent)."""
        return self._event.delete(field)

    def includes(self, field: str) -> bool:
        """Ruby's ``include?``: is the field present (even when null)?"""
        return self._event.contains(field)

    include = includes

    def __getitem__(self, field: str) -> Any:
        value = self._event.get(field, _MISSING)
        if value is _MISSING:
            raise KeyError(field)
        return value

    def __setitem__(self, field: str, value: Any) -> None:
        self.set(field, value)

    def __contains__(self, field: str) -> bool:
        return self.includes(field)

    # --- tags, lifecycle ------------------------------------------------------------
    def tag(self, *tags: str) -> None:
        self._event.add_tag(*tags)

    @property
    def tags(self) -> list[str]:
        return self._event.tags

    def cancel(self) -> None:
        """Drop this event: it goes no further down the pipeline."""
        self.cancelled = True

    def uncancel(self) -> None:
        self.cancelled = False

    def is_cancelled(self) -> bool:
        return self.cancelled

    # --- whole event ----------------------------------------------------------------
    @property
    def timestamp(self) -> datetime:
        return self._event.timestamp

    @timestamp.setter
    def timestamp(self, value: Any) -> None:
        self._event.data[TIMESTAMP] = _timestamp(value)

    @property
    def metadata(self) -> dict[str, Any]:
        return self._event.metadata

    def to_dict(self, metadata: bool = False) -> dict[str, Any]:
        """A deep copy of the fields (``@metadata`` too when asked)."""
        out = copy.deepcopy(self._event.data)
        if metadata:
            out[METADATA] = copy.deepcopy(self._event.metadata)
        return out

    to_hash = to_dict

    def to_hash_with_metadata(self) -> dict[str, Any]:
        return self.to_dict(metadata=True)

    def sprintf(self, template: str) -> str:
        return self._event.sprintf(template)

    def clone(self) -> ScriptEvent:
        """A deep copy (fields and ``@metadata``), e.g. to emit a new event."""
        return ScriptEvent(self._event.copy())

    def __repr__(self) -> str:
        return f"Event({self._event.data!r})"
