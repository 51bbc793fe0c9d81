"""One file being read: its open handle, where reading is, and what is acknowledged.

Three positions matter. ``read_pos`` is how far the file has been read;
``commit`` is the end of the last line whose events have been handed to the
pipeline (lines still gathered by a multiline codec, or a last line without its
delimiter, are not past it); ``acked`` is the last ``commit`` whose batch and
every batch before it the pipeline acknowledged. Only ``acked`` is saved, so
after a crash reading resumes at the first line not yet delivered.

A truncation (copytruncate rotation) starts a new ``generation``: positions
acknowledged for the old content are then ignored.
"""
from __future__ import annotations

import os
from collections import deque
from typing import IO

from logpipe.codecs import Codec, StreamDecoder
from logpipe.codecs.base import LINE_TOO_LONG_TAG
from logpipe.core.batch import Batch, InOrder
from logpipe.core.codec import event_from_line
from logpipe.core.event import Event
from logpipe.inputs.file.sincedb import Key


class TrackedFile:
    def __init__(self, key: Key, path: str, position: int, codec: Codec, delimiter: bytes,
                 max_line_bytes: int) -> None:
        self.key = key
        self.path = path
        self.handle: IO[bytes] | None = None
        self.read_pos = position
        self.commit = position
        self.acked = position
        self.generation = 0
        self.codec = codec
        self.delimiter = delimiter
        self.max_line_bytes = max_line_bytes
        self.stream: StreamDecoder = codec.stream(max_line_bytes)
        self.partial = b""
        self.skipping = False
        #: Start offsets of the lines a multiline codec still holds.
        self.held: deque[int] = deque()
        self.inorder: InOrder[tuple[int, int]] = InOrder()
        self.last_growth = 0.0
        self.rotated = False          # the path now names another file (or none)
        self.rotated_at = 0.0
        self.completed = False        # read mode: read to the end and acknowledged

    # --- the handle --------------------------------------------------------------------
    def open(self) -> None:
        if self.handle is None:
            self.handle = open(self.path, "rb")
            self.handle.seek(self.read_pos)

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None

    def size(self) -> int:
        if self.handle is not None:
            return os.fstat(self.handle.fileno()).st_size
        return os.stat(self.path).st_size

    def truncated(self) -> None:
        """The file shrank under us (copytruncate): read it again from the start."""
        self.generation += 1
        self.read_pos = self.commit = self.acked = 0
        self.partial = b""
        self.skipping = False
        self.held.clear()
        self.stream = self.codec.stream(self.max_line_bytes)
        if self.handle is not None:
            self.handle.seek(0)

    # --- bytes into events -------------------------------------------------------------
    def consume(self, data: bytes) -> list[Event]:
        """Events of the complete lines in ``data`` (with what was left before it)."""
        start = self.read_pos - len(self.partial)
        self.read_pos += len(data)
        buf = self.partial + data if self.partial else data
        parts = buf.split(self.delimiter)
        self.partial = parts.pop()
        step = len(self.delimiter)
        out: list[Event] = []
        if not self.stream.holds_lines:
            # Every complete line becomes its events now: decode them in one call.
            if self.skipping and parts:
                start += len(parts[0]) + step
                parts = parts[1:]
                self.skipping = False
            out = self.stream.feed_lines(parts)
            start += sum(len(raw) for raw in parts) + step * len(parts)
            self.commit = start
            parts = []
        for raw in parts:
            end = start + len(raw) + step
            if self.skipping:                       # the end of an over-long line
                self.skipping = False
            else:
                out.extend(self._line(raw, start))
            self._advance(end)
            start = end
        if len(self.partial) > self.max_line_bytes and not self.skipping:
            out.extend(self._cut(self.partial[:self.max_line_bytes]))
            self.skipping = True
        if self.skipping:        # drop what was read of the long line; it is never re-read
            self.partial = b""
        return out

    def _line(self, raw: bytes, start: int) -> list[Event]:
        if raw.endswith(b"\r") and self.delimiter == b"\n":
            raw = raw[:-1]
        if len(raw) > self.max_line_bytes:
            return self._cut(raw[:self.max_line_bytes])
        self.held.append(start)
        return self.stream.feed_lines([raw])

    def _cut(self, head: bytes) -> list[Event]:
        events = self.codec.decode_line(head) or [event_from_line(head)]
        for e in events:
            e.add_tag(LINE_TOO_LONG_TAG)
        return events

    def _advance(self, end: int) -> None:
        """After a line ending at ``end``: the commit point is before the lines still held."""
        waiting = self.stream.pending_lines()
        while len(self.held) > waiting:
            self.held.popleft()
        self.commit = self.held[0] if self.held else end

    def idle(self, now: float) -> list[Event]:
        events = self.stream.idle(now)
        if events:
            self.held.clear()
            self.commit = self.read_pos - len(self.partial)
        return events

    def finish(self) -> list[Event]:
        """At the end of a file in read mode: the last line even without delimiter."""
        events: list[Event] = []
        if self.partial and not self.skipping:
            events.extend(self._line(self.partial, self.read_pos - len(self.partial)))
        self.partial = b""
        events.extend(self.stream.flush())
        self.held.clear()
        self.commit = self.read_pos
        return events

    # --- acknowledgements --------------------------------------------------------------
    def track(self, batch: Batch) -> None:
        self.inorder.add(batch, (self.generation, batch.token))

    def released(self) -> bool:
        """Move ``acked`` past every acknowledged batch; True when it moved."""
        moved = False
        for generation, position in self.inorder.release():
            if generation == self.generation and position > self.acked:
                self.acked = position
                moved = True
        return moved
