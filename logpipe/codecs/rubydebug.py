"""``rubydebug`` and ``dots``: what the stdout output shows people.

``rubydebug`` draws an event the way Logstash's console shows it: one field a
line, keys right-aligned before ``=>``, nested objects indented, arrays with
their indexes, times unquoted; ``@metadata`` only with ``metadata: true``.
``dots`` writes one ``.`` per event, a heartbeat for a busy pipeline.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from pydantic import Field

from logpipe.codecs.base import Codec, CodecConfig
from logpipe.core.event import METADATA, Event


def _scalar(value: Any) -> str:
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return orjson.dumps(value if isinstance(value, str) else str(value)).decode()


def render(value: Any, indent: int = 0) -> str:
    pad = " " * indent
    if isinstance(value, dict):
        if not value:
            return "{}"
        keys = sorted(value, key=str)
        quoted = [orjson.dumps(str(k)).decode() for k in keys]
        width = max(len(q) for q in quoted)
        lines = [f"{pad}    {q.rjust(width)} => {render(value[k], indent + 4)}" for k, q in zip(keys, quoted)]
        return "{\n" + ",\n".join(lines) + f"\n{pad}}}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        width = len(str(len(value) - 1)) + 2
        lines = [f"{pad}    {f'[{i}]'.ljust(width)} {render(v, indent + 4)}" for i, v in enumerate(value)]
        return "[\n" + ",\n".join(lines) + f"\n{pad}]"
    return _scalar(value)


class RubydebugConfig(CodecConfig):
    metadata: bool = Field(False, description="Show @metadata too.")


class RubydebugCodec(Codec):
    Config = RubydebugConfig
    config: RubydebugConfig
    decodes = False

    def decode(self, data: bytes) -> list[Event]:
        self._require("decode")
        return []

    def encode(self, event: Event) -> bytes:
        data = event.data
        if self.config.metadata and event.metadata:
            data = {**data, METADATA: event.metadata}
        return (render(data) + "\n").encode()


class DotsCodec(Codec):
    decodes = False

    def decode(self, data: bytes) -> list[Event]:
        self._require("decode")
        return []

    def encode(self, event: Event) -> bytes:
        return b"."

    def encode_batch(self, events: list[Event]) -> bytes:
        return b"." * len(events)
