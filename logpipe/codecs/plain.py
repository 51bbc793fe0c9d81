"""``plain`` and ``line``: text in, text out.

``plain`` takes a whole message as ``message`` (on a stream, each line, as
Logstash's streaming inputs do) and writes ``format`` (a ``%{field}`` template)
or, without one, ``@timestamp host message`` with no delimiter. ``line`` splits
on ``delimiter`` and writes each event followed by it.
"""
from __future__ import annotations

from pydantic import Field

from logpipe.codecs.base import DEFAULT_MAX_LINE_BYTES, Codec, CodecConfig, StreamDecoder
from logpipe.core.codec import event_from_line
from logpipe.core.event import TIMESTAMP, Event, adopt, now
from logpipe.core.sprintf import compile_template

_DEFAULT_TEXT = compile_template("%{@timestamp} %{host} %{message}")


def unescape(text: str) -> str:
    """``\\n``, ``\\r`` and ``\\t`` written literally in a config mean the characters."""
    return text.replace("\\r", "\r").replace("\\n", "\n").replace("\\t", "\t")


def default_text(event: Event) -> str:
    """Logstash's text of an event without a format: time, host, message (a missing
    field stays as its ``%{...}`` reference, as Logstash writes it)."""
    return _DEFAULT_TEXT(event)


class PlainConfig(CodecConfig):
    format: str | None = Field(None, description="Template of the text written per event (encoding).")
    charset: str = Field("UTF-8", description="Only UTF-8 is read; invalid bytes are replaced and tagged _utf8error.")


class PlainCodec(Codec):
    Config = PlainConfig
    config: PlainConfig

    def __init__(self, config: PlainConfig | None = None) -> None:
        super().__init__(config)
        self._format = compile_template(self.config.format) if self.config.format else None

    def decode(self, data: bytes) -> list[Event]:
        if not data:
            return []
        return [event_from_line(data)]

    def decode_line(self, line: bytes) -> list[Event]:
        return [event_from_line(line)]

    def decode_lines(self, lines: list[bytes]) -> list[Event]:
        """All lines decoded as one text and stamped with one time; when the text is not
        UTF-8, line by line, so that only the bad lines are tagged."""
        try:
            texts = b"\n".join(lines).decode("utf-8").split("\n")
        except UnicodeDecodeError:
            return [event_from_line(line) for line in lines]
        if len(texts) != len(lines):      # a line held a "\n" (another delimiter): one by one
            return [event_from_line(line) for line in lines]
        ts = now()
        return [adopt({TIMESTAMP: ts, "message": t}, {}) for t in texts]

    def text(self, event: Event) -> str:
        return self._format(event) if self._format is not None else default_text(event)

    def encode(self, event: Event) -> bytes:
        return self.text(event).encode()


class LineConfig(PlainConfig):
    delimiter: str = Field("\n", description="Separates events, read and written (\\n, \\r\\n, ...).")
    max_line_bytes: int = Field(DEFAULT_MAX_LINE_BYTES, ge=16,
                                description="Longer lines are cut and tagged _line_too_long.")


class LineCodec(PlainCodec):
    Config = LineConfig
    config: LineConfig

    def __init__(self, config: LineConfig | None = None) -> None:
        super().__init__(config)
        self._delimiter = unescape(self.config.delimiter)
        self._delim_bytes = self._delimiter.encode()

    def decode(self, data: bytes) -> list[Event]:
        stream = self.stream()
        return stream.feed(data) + stream.flush()

    def stream(self, max_line_bytes: int | None = None) -> StreamDecoder:
        return StreamDecoder(self, self._delim_bytes, max_line_bytes or self.config.max_line_bytes)

    def encode(self, event: Event) -> bytes:
        return (self.text(event) + self._delimiter).encode()

    def encode_batch(self, events: list[Event]) -> bytes:
        if self._format is None:
            return b"".join(self.encode(e) for e in events)
        text = self._format
        delim = self._delimiter
        return "".join(text(e) + delim for e in events).encode()
