"""``json`` and ``json_lines``.

``json`` reads one JSON document per message: an object is an event, an array
of objects is one event each; anything else (invalid JSON, a scalar) is kept
as ``message`` and tagged ``_jsonparsefailure``, never dropped. It writes one
document per event with no delimiter. ``json_lines`` is the same per line of a
stream, and writes each document followed by ``delimiter``.
"""
from __future__ import annotations

from typing import Any

import orjson
from pydantic import Field

from logpipe.codecs.base import DEFAULT_MAX_LINE_BYTES, Codec, CodecConfig, StreamDecoder
from logpipe.codecs.plain import unescape
from logpipe.core.codec import JSON_FAILURE_TAG, dumps, dumps_pretty, event_from_json, event_from_line, json_lines
from logpipe.core.event import Event


class JsonConfig(CodecConfig):
    target: str | None = Field(None, description="Put the decoded document under this field instead of the root.")
    charset: str = Field("UTF-8", description="Only UTF-8 is read.")


def _targeted(events: list[Event], target: str | None) -> list[Event]:
    if target is None:
        return events
    out = []
    for e in events:
        if e.has_tag(JSON_FAILURE_TAG):
            out.append(e)
            continue
        stamp = e.data.pop("@timestamp")
        doc = e.data
        e.data = {"@timestamp": stamp}
        e.set(target, doc)
        out.append(e)
    return out


class JsonCodec(Codec):
    Config = JsonConfig
    config: JsonConfig

    def decode(self, data: bytes) -> list[Event]:
        if not data.strip():
            return []
        try:
            value: Any = orjson.loads(data)
        except orjson.JSONDecodeError:
            event = event_from_line(data)
            event.add_tag(JSON_FAILURE_TAG)
            return [event]
        if isinstance(value, list):
            if value and all(isinstance(v, dict) for v in value):
                return _targeted([event_from_json(dumps(v)) for v in value], self.config.target)
            event = event_from_line(data)
            event.add_tag(JSON_FAILURE_TAG)
            return [event]
        return _targeted([event_from_json(data)], self.config.target)

    def decode_line(self, line: bytes) -> list[Event]:
        return self.decode(line)

    def encode(self, event: Event) -> bytes:
        return dumps(event.data)


class JsonLinesConfig(JsonConfig):
    delimiter: str = Field("\n", description="Separates documents, read and written.")
    max_line_bytes: int = Field(DEFAULT_MAX_LINE_BYTES, ge=16,
                                description="Longer lines are cut and tagged _line_too_long.")


class JsonLinesCodec(JsonCodec):
    Config = JsonLinesConfig
    config: JsonLinesConfig

    def __init__(self, config: JsonLinesConfig | None = None) -> None:
        super().__init__(config)
        self._delimiter = unescape(self.config.delimiter).encode()

    def decode(self, data: bytes) -> list[Event]:
        stream = self.stream()
        return stream.feed(data) + stream.flush()

    def decode_line(self, line: bytes) -> list[Event]:
        if not line.strip():
            return []
        return _targeted([event_from_json(line)], self.config.target)

    def stream(self, max_line_bytes: int | None = None) -> StreamDecoder:
        return StreamDecoder(self, self._delimiter, max_line_bytes or self.config.max_line_bytes)

    def encode(self, event: Event) -> bytes:
        return dumps(event.data) + self._delimiter

    def encode_batch(self, events: list[Event]) -> bytes:
        if self._delimiter == b"\n":
            return json_lines(events)
        return b"".join(dumps(e.data) + self._delimiter for e in events)


class JsonPrettyCodec(JsonCodec):
    """``pretty``: indented JSON with sorted keys, one document after another (logpipe's own
    readable form; ``rubydebug`` is Logstash's)."""

    decodes = False

    def encode(self, event: Event) -> bytes:
        return dumps_pretty(event.data) + b"\n"
