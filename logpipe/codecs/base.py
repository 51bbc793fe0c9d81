"""What a codec is: bytes into events on the way in, events into bytes on the way out.

Inputs meet two shapes of data, and a codec serves both:

- a whole message (a UDP datagram, a Kafka record, a Redis item, a file line):
  :meth:`Codec.decode` turns it into events;
- a byte stream (a TCP connection, stdin, a file): :meth:`Codec.stream` gives a
  :class:`StreamDecoder` that keeps the state of one stream (a partial line, a
  multiline event being gathered), fed chunk by chunk and flushed at its end.

Outputs call :meth:`Codec.encode` per event, or :meth:`Codec.encode_batch` for a
whole batch when they write one block. A codec that only goes one way raises
:class:`CodecDirectionError` for the other, so a pipeline that asks for it fails
at start-up, not per event.
"""
from __future__ import annotations

from typing import ClassVar

from logpipe.core.codec import event_from_line
from logpipe.core.event import Event
from logpipe.core.plugin import PluginConfig
from logpipe.errors import ConfigError

LINE_TOO_LONG_TAG = "_line_too_long"
DEFAULT_MAX_LINE_BYTES = 1 << 20


class CodecConfig(PluginConfig):
    """Base of every codec's settings (unknown keys are errors, as for plugins)."""


class CodecDirectionError(ConfigError):
    """A codec asked to decode when it only encodes, or the reverse."""


class StreamDecoder:
    """The state of one stream: bytes in, events out as soon as they are complete.

    This default splits the stream on a delimiter and decodes each line with
    ``decode_line``; a line longer than ``max_line_bytes`` is cut, tagged
    ``_line_too_long``, and the rest of it skipped, so one runaway sender cannot
    grow memory without bound.
    """

    #: True when complete lines may be held back for a later event (multiline).
    holds_lines: ClassVar[bool] = False

    def __init__(self, codec: Codec, delimiter: bytes = b"\n",
                 max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        self.codec = codec
        self.delimiter = delimiter
        self.max_line_bytes = max_line_bytes
        self._pending = b""
        self._skipping = False
        #: Seconds of quiet after which ``idle`` may have events (None: it never has).
        self.idle_interval: float | None = None

    def feed(self, data: bytes) -> list[Event]:
        """Events for every complete line of ``data`` (with what was pending before it)."""
        if not data:
            return []
        buf = self._pending + data if self._pending else data
        parts = buf.split(self.delimiter)
        self._pending = parts.pop()
        if self._skipping and parts:   # the first part ends an over-long line
            self._skipping = False
            parts = parts[1:]
        out = self.feed_lines(parts)
        limit = self.max_line_bytes
        if len(self._pending) > limit:
            if not self._skipping:
                out.extend(self._too_long(self._pending[:limit]))
            self._skipping = True
            self._pending = b""
        return out

    def feed_lines(self, lines: list[bytes]) -> list[Event]:
        """Events for complete lines (the file input splits them itself). Lines that all fit
        go to the codec at once (``decode_lines``, which plain and line do in one pass)."""
        limit = self.max_line_bytes
        if not lines:
            return []
        if max(map(len, lines)) <= limit:
            if self.delimiter == b"\n":
                lines = [raw[:-1] if raw.endswith(b"\r") else raw for raw in lines]
            return self.codec.decode_lines([raw for raw in lines if raw])
        out: list[Event] = []
        for raw in lines:
            out.extend(self._line(raw, limit))
        return out

    def flush(self) -> list[Event]:
        """What is left at the end of the stream (a last line without delimiter)."""
        pending, self._pending = self._pending, b""
        skipping, self._skipping = self._skipping, False
        if skipping or not pending.strip():
            return []
        return self._line(pending, self.max_line_bytes)

    def idle(self, now: float) -> list[Event]:
        """Events due because the stream went quiet (multiline's ``auto_flush_interval``);
        ``now`` is ``time.monotonic()``."""
        return []

    def pending_lines(self) -> int:
        """Complete lines taken but not yet in an event (multiline holds some)."""
        return 0

    def _line(self, raw: bytes, limit: int) -> list[Event]:
        if raw.endswith(b"\r") and self.delimiter == b"\n":
            raw = raw[:-1]
        if len(raw) > limit:
            return self._too_long(raw[:limit])
        if not raw:
            return []
        return self.codec.decode_line(raw)

    def _too_long(self, head: bytes) -> list[Event]:
        events = self.codec.decode_line(head) or [event_from_line(head)]
        for e in events:
            e.add_tag(LINE_TOO_LONG_TAG)
        return events


class Codec:
    """One configured codec. Subclasses set ``Config`` and override what they support."""

    #: Registered name, set by the registry.
    name: ClassVar[str] = ""
    Config: ClassVar[type[CodecConfig]] = CodecConfig
    #: Whether ``decode`` / ``encode`` are implemented (checked when a plugin is built).
    decodes: ClassVar[bool] = True
    encodes: ClassVar[bool] = True

    def __init__(self, config: CodecConfig | None = None) -> None:
        self.config = config if config is not None else self.Config()

    # --- decoding ----------------------------------------------------------------------
    def decode(self, data: bytes) -> list[Event]:
        """One whole message into events. The default: every line of it."""
        stream = self.stream()
        return stream.feed(data) + stream.flush()

    def decode_line(self, line: bytes) -> list[Event]:
        """One line (delimiter removed) into events; streams call this per line."""
        return self.decode(line)

    def decode_lines(self, lines: list[bytes]) -> list[Event]:
        """Several lines (delimiters removed, none empty) into events, in order."""
        decode = self.decode_line
        return [e for line in lines for e in decode(line)]

    def stream(self, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> StreamDecoder:
        """A decoder for one stream (connection, file, stdin)."""
        self._require("decode")
        return StreamDecoder(self, max_line_bytes=max_line_bytes)

    # --- encoding ----------------------------------------------------------------------
    def encode(self, event: Event) -> bytes:
        raise CodecDirectionError(f"codec {self.name!r} cannot encode events")

    def encode_batch(self, events: list[Event]) -> bytes:
        """A whole batch as one block, as stream outputs (file, tcp, stdout) write it."""
        encode = self.encode
        return b"".join(encode(e) for e in events)

    def _require(self, direction: str) -> None:
        ok = self.decodes if direction == "decode" else self.encodes
        if not ok:
            raise CodecDirectionError(f"codec {self.name!r} cannot {direction} (it is "
                                      f"{'an output' if direction == 'decode' else 'an input'} codec)")

    def check(self, direction: str) -> Codec:
        """Raise now when this codec cannot go ``direction`` ("decode" or "encode")."""
        self._require(direction)
        return self
