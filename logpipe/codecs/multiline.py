"""``multiline``: lines of one stream gathered into one event (stack traces, wrapped logs).

Each line is tested against ``pattern`` (grok references such as
``%{TIMESTAMP_ISO8601}`` are expanded); ``negate`` inverts the test. A line that
matches belongs to the ``previous`` lines, or, with ``what: next``, to the lines
that follow it. The state is per stream (one connection, one file), so two
senders never mix. An event of several lines carries ``multiline_tag``; one cut
beyond ``max_lines`` or at ``max_bytes`` carries ``multiline_codec_max_lines_reached``
or ``multiline_codec_max_bytes_reached``. With ``auto_flush_interval``, a
pending event is sent once its stream has been quiet that long, instead of
waiting for the next line.
"""
from __future__ import annotations

import re
import time
from typing import Any, Literal

import regex
from pydantic import Field, field_validator

from logpipe.codecs.base import DEFAULT_MAX_LINE_BYTES, Codec, CodecConfig, StreamDecoder
from logpipe.codecs.plain import unescape
from logpipe.core.codec import UTF8_FAILURE_TAG, decode_text
from logpipe.core.event import Event, now
from logpipe.errors import ConfigError

MAX_LINES_TAG = "multiline_codec_max_lines_reached"
MAX_BYTES_TAG = "multiline_codec_max_bytes_reached"

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b|b)?\s*$", re.IGNORECASE)
_UNITS = {"b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4,
          "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4}


def parse_size(value: Any) -> int:
    """``10 MiB``, ``512kb`` or a number of bytes."""
    if isinstance(value, int):
        return value
    m = _SIZE.match(str(value))
    if not m:
        raise ValueError(f"not a byte size: {value!r} (e.g. '10 MiB')")
    return int(float(m.group(1)) * _UNITS[(m.group(2) or "b").lower()])


class MultilineConfig(CodecConfig):
    pattern: str = Field(description="Regular expression (grok references allowed) tested on each line.")
    what: Literal["previous", "next"] = Field(
        description="previous: a matching line joins the lines before it; next: the lines after it.")
    negate: bool = Field(False, description="Invert the test: lines that do NOT match join.")
    patterns_dir: list[str] = Field(default_factory=list, description="Extra grok pattern files.")
    ecs_compatibility: str = Field("v8", description="Which bundled grok patterns apply.")
    multiline_tag: str = Field("multiline", description="Tag of an event made of several lines.")
    max_lines: int = Field(500, ge=1, description="Lines per event; more start a new event (tagged).")
    max_bytes: int = Field(10 * 1024 * 1024, ge=1, description="Bytes per event ('10 MiB'); more start a new event.")
    auto_flush_interval: float | None = Field(
        None, gt=0, description="Seconds of quiet after which a pending event is sent.")
    delimiter: str = Field("\n", description="Line separator of the stream.")
    charset: str = Field("UTF-8", description="Only UTF-8 is read.")

    @field_validator("max_bytes", mode="before")
    @classmethod
    def _size(cls, v: Any) -> int:
        return parse_size(v)

    @field_validator("patterns_dir", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v


def compile_pattern(cfg: MultilineConfig) -> regex.Pattern[str]:
    from logpipe.filters.grok.compiler import translate
    from logpipe.filters.grok.library import build_library

    try:
        translation = translate(cfg.pattern, build_library(cfg.ecs_compatibility, cfg.patterns_dir),
                                named_captures_only=True)
        return regex.compile(translation.regex, regex.V0)
    except (ConfigError, regex.error) as exc:
        raise ConfigError(f"multiline pattern {cfg.pattern!r}: {exc}") from None


class MultilineCodec(Codec):
    Config = MultilineConfig
    config: MultilineConfig
    encodes = False

    def __init__(self, config: MultilineConfig | None = None) -> None:
        super().__init__(config)
        self.regex = compile_pattern(self.config)

    def stream(self, max_line_bytes: int | None = None) -> MultilineStream:
        return MultilineStream(self, max_line_bytes or DEFAULT_MAX_LINE_BYTES)

    def decode(self, data: bytes) -> list[Event]:
        stream = self.stream()
        return stream.feed(data) + stream.flush()

    def decode_line(self, line: bytes) -> list[Event]:   # pragma: no cover - streams gather instead
        return self.decode(line)


class MultilineStream(StreamDecoder):
    """The lines gathered so far for one stream, and when the last one came."""

    holds_lines = True

    def __init__(self, codec: MultilineCodec, max_line_bytes: int) -> None:
        super().__init__(codec, unescape(codec.config.delimiter).encode(), max_line_bytes)
        self.mcodec = codec
        self.idle_interval = codec.config.auto_flush_interval
        self.lines: list[str] = []
        self.nbytes = 0
        self.bad_utf8 = False
        self.last_line_at = 0.0
        self.started = now()

    def feed_lines(self, lines: list[bytes]) -> list[Event]:
        out: list[Event] = []
        for raw in lines:          # one at a time: each line decides where the event ends
            out.extend(self._line(raw, self.max_line_bytes))
        return out

    def _line(self, raw: bytes, limit: int) -> list[Event]:
        if raw.endswith(b"\r") and self.delimiter == b"\n":
            raw = raw[:-1]
        text, ok = decode_text(raw[:limit])
        return self.add(text, ok)

    def _too_long(self, head: bytes) -> list[Event]:
        text, ok = decode_text(head)
        return self.add(text, ok)

    def add(self, text: str, utf8_ok: bool = True) -> list[Event]:
        """One line of the stream; returns the events it completes."""
        cfg = self.mcodec.config
        matched = self.mcodec.regex.search(text) is not None
        if cfg.negate:
            matched = not matched
        out: list[Event] = []
        if cfg.what == "previous":
            if not matched or self._full():
                out.extend(self.flush_pending())
            self._buffer(text, utf8_ok)
        else:
            self._buffer(text, utf8_ok)
            if not matched or self._full():
                out.extend(self.flush_pending())
        self.last_line_at = time.monotonic()
        return out

    def _buffer(self, text: str, ok: bool) -> None:
        if not self.lines:
            self.started = now()
        self.lines.append(text)
        self.nbytes += len(text.encode()) if not text.isascii() else len(text)
        self.bad_utf8 = self.bad_utf8 or not ok

    def _full(self) -> bool:
        cfg = self.mcodec.config
        return len(self.lines) > cfg.max_lines or self.nbytes >= cfg.max_bytes

    def flush_pending(self) -> list[Event]:
        if not self.lines:
            return []
        cfg = self.mcodec.config
        event = Event({"@timestamp": self.started, "message": "\n".join(self.lines)})
        if len(self.lines) > 1:
            event.add_tag(cfg.multiline_tag)
        if len(self.lines) > cfg.max_lines:
            event.add_tag(MAX_LINES_TAG)
        if self.nbytes >= cfg.max_bytes:
            event.add_tag(MAX_BYTES_TAG)
        if self.bad_utf8:
            event.add_tag(UTF8_FAILURE_TAG)
        self.lines = []
        self.nbytes = 0
        self.bad_utf8 = False
        return [event]

    def flush(self) -> list[Event]:
        tail = super().flush()   # a last line without delimiter goes through add()
        return tail + self.flush_pending()

    def pending_lines(self) -> int:
        return len(self.lines)

    def idle(self, now: float) -> list[Event]:
        interval = self.mcodec.config.auto_flush_interval
        if interval is None or not self.lines or now - self.last_line_at < interval:
            return []
        return self.flush_pending()
