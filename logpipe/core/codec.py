"""Turning events into bytes and bytes into events, shared by inputs and outputs.

orjson does the work: it writes ``datetime`` as RFC 3339 (``Z`` for UTC) and is
the fastest JSON library for Python. Anything it cannot serialize is written
as its ``str()`` rather than failing the batch, except a finite
:class:`~decimal.Decimal` (an exact number, e.g. from dissect's
``convert_datatype``), which is written as the JSON number it is.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Iterable

import orjson

from logpipe.core.event import METADATA, TIMESTAMP, Event, adopt, now
from logpipe.core.native import native_module
from logpipe.core.timestamps import parse_iso

_OPTS = orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS
_PRETTY = _OPTS | orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS
#: Keys are text in all but odd events, and orjson checks every key's type when
#: told non-text keys may come (about a third more time per event): so the common
#: case is written without that option, and only a refused event is written again
#: with it. The output is the same either way.
_TEXT_KEYS = orjson.OPT_UTC_Z

_ABSENT: Any = object()

JSON_FAILURE_TAG = "_jsonparsefailure"
UTF8_FAILURE_TAG = "_utf8error"


def _fallback(value: Any) -> Any:
    if isinstance(value, Decimal) and value.is_finite():
        return orjson.Fragment(str(value).encode())
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def dumps(data: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(data, default=_fallback, option=_TEXT_KEYS)
    except TypeError:  # a key that is not text (or a value orjson cannot write at all)
        return orjson.dumps(data, default=_fallback, option=_OPTS)


def dumps_pretty(data: dict[str, Any]) -> bytes:
    return orjson.dumps(data, default=_fallback, option=_PRETTY)


def json_lines(events: list[Event]) -> bytes:
    """One JSON document per line, newline-terminated, for a whole batch."""
    if not events:
        return b""
    encode = orjson.dumps
    try:
        docs = [encode(e.data, default=_fallback, option=_TEXT_KEYS) for e in events]
    except TypeError:
        docs = [dumps(e.data) for e in events]
    return b"\n".join(docs) + b"\n"


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


def _native_decoder() -> Any:
    """The native loop of :func:`events_from_json` (native/src/decode.rs), made once;
    None without the native module."""
    global _decoder
    native = native_module()
    if native is None:
        return None
    if _decoder is None:
        _decoder = native.EventDecoder(Event, orjson.loads, orjson.JSONDecodeError, parse_iso)
    return _decoder


_decoder: Any = None


def events_from_json(raws: Iterable[bytes | str],
                     metadatas: list[dict[str, Any]] | None = None) -> list[Event]:
    """:func:`event_from_json` for a whole batch, each record's result the same except
    that records without ``@timestamp`` share one arrival time, taken once per batch.

    ``metadatas``: each record's metadata (a Kafka record's coordinates, a Redis
    item's key), as ``event_from_json`` takes it; a record's own ``@metadata`` is
    then dropped. Without, a record's ``@metadata`` object is its metadata.
    Objects (nearly every record) are wrapped without the constructor's checks;
    anything else (invalid JSON, arrays, scalars) goes through ``event_from_json``
    and is tagged there. With the native module the loop runs there, calling the
    same ``orjson.loads`` and :func:`parse_iso`.
    """
    ts = now()
    decoder = _native_decoder()
    if decoder is not None:
        batch = raws if type(raws) is list else list(raws)
        events, left = decoder.decode(batch, ts, metadatas)
        for i in left:
            events[i] = event_from_json(batch[i], None if metadatas is None else metadatas[i])
        return events
    return _events_from_json(raws, ts, metadatas)


def _events_from_json(raws: Iterable[bytes | str], ts: Any,
                      metadatas: list[dict[str, Any]] | None = None) -> list[Event]:
    """The Python loop of :func:`events_from_json` (without the native module)."""
    loads = orjson.loads
    out: list[Event] = []
    append = out.append
    for i, raw in enumerate(raws):
        given = None if metadatas is None else metadatas[i]
        try:
            value = loads(raw)
        except orjson.JSONDecodeError:
            append(event_from_json(raw, given))
            continue
        if type(value) is not dict:
            append(event_from_json(raw, given))
            continue
        stamp = value.get(TIMESTAMP, _ABSENT)
        if stamp is _ABSENT:
            value[TIMESTAMP] = ts
        elif type(stamp) is str:
            parsed = parse_iso(stamp)
            if parsed is not None:
                value[TIMESTAMP] = parsed
            else:
                del value[TIMESTAMP]
                value["_timestamp_original"] = stamp
                value[TIMESTAMP] = ts
        meta = value.pop(METADATA, None)
        append(adopt(value, given if given is not None else meta if type(meta) is dict else {}))
    return out


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
    if type(value) is dict:
        ts = value.get("@timestamp")
        if type(ts) is str:
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
