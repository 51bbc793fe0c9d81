"""Turning events into bytes and bytes into events, shared by inputs and outputs.

orjson does the work: it writes ``datetime`` as RFC 3339 (``Z`` for UTC) and is
the fastest JSON library for Python. Anything it cannot serialize is written
as its ``str()`` rather than failing the batch.
"""
from __future__ import annotations

from typing import Any

import orjson

from logpipe.core.event import Event

_OPTS = orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS
_PRETTY = _OPTS | orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS

JSON_FAILURE_TAG = "_jsonparsefailure"
UTF8_FAILURE_TAG = "_utf8error"


def _fallback(value: Any) -> Any:
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def dumps(data: dict[str, Any]) -> bytes:
    return orjson.dumps(data, default=_fallback, option=_OPTS)


def dumps_pretty(data: dict[str, Any]) -> bytes:
    return orjson.dumps(data, default=_fallback, option=_PRETTY)


def json_lines(events: list[Event]) -> bytes:
    """One JSON document per line, newline-terminated, for a whole batch."""
    if not events:
        return b""
    return b"\n".join([orjson.dumps(e.data, default=_fallback, option=_OPTS) for e in events]) + b"\n"


def decode_text(raw: bytes) -> tuple[str, bool]:
    """UTF-8 text, replacing bad bytes; the flag says whether any were bad."""
    try:
        return raw.decode("utf-8"), True
    except UnicodeDecodeError:
        return raw.decode("utf-8", "replace"), False


def event_from_line(raw: bytes | str, metadata: dict[str, Any] | None = None) -> Event:
    """A raw line becomes ``message``; invalid UTF-8 is replaced and tagged."""
    if isinstance(raw, bytes):
        text, ok = decode_text(raw)
        event = Event({"message": text}, metadata)
        if not ok:
            event.add_tag(UTF8_FAILURE_TAG)
        return event
    return Event({"message": raw}, metadata)


def event_from_json(raw: bytes | str, metadata: dict[str, Any] | None = None) -> Event:
    """A JSON object becomes the event; anything else is kept as ``message`` and tagged.

    Nothing is dropped: a line that is not a JSON object still becomes an event,
    so the sender's data reaches an output where it can be found and fixed.
    """
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        event = event_from_line(raw, metadata)
        event.add_tag(JSON_FAILURE_TAG)
        return event
    if isinstance(value, dict):
        ts = value.get("@timestamp")
        if isinstance(ts, str):
            from logpipe.core.timestamps import parse_iso
            parsed = parse_iso(ts)
            if parsed is not None:
                value["@timestamp"] = parsed
            else:
                del value["@timestamp"]
                value["_timestamp_original"] = ts
        return Event(value, metadata)
    event = Event({"message": raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw}, metadata)
    event.add_tag(JSON_FAILURE_TAG)
    return event
