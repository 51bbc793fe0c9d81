"""Lumberjack v2 (the Beats protocol): an incremental frame decoder and the encoders.

Wire format (all integers unsigned 32-bit big-endian), every frame starting with
a version byte (``'2'``; ``'1'`` is accepted from old forwarders) and a type byte:

- ``W`` window size: ``count``. The next ``count`` data frames form one window.
- ``J`` JSON data: ``seq``, ``length``, ``length`` bytes of JSON.
- ``D`` key/value data (the older form): ``seq``, ``pairs``, then ``pairs`` times
  key length, key, value length, value.
- ``C`` compressed: ``length``, ``length`` bytes of a zlib stream whose content is
  more frames (data frames, possibly a window frame).
- ``A`` ACK, server to client: ``seq``, the highest sequence number of the
  window being acknowledged. An ACK of 0 acknowledges nothing; servers send it
  as a keepalive while a window is still being processed.

Clients number a window's events from 1 (go-lumber, Filebeat) or keep counting
across windows (pylogbeat); either way the ACK carries the highest number seen.

:class:`Decoder` is pure (no I/O, no clock): ``feed(bytes)`` returns the windows
that became complete. It never trusts a length before checking it against
:class:`Limits`, keeps at most one frame plus one read in memory, and inflates
compressed frames a slice at a time so that a small frame that expands without
end (a zip bomb) is refused once it passes ``max_decompressed_bytes``. Anything
malformed raises :class:`ProtocolError`, after which the decoder must be dropped.

A window frame announcing zero events opens no window: there is nothing to
submit and nothing to acknowledge (go-lumber's server does the same).
Data frames outside a window are refused.
"""
from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from typing import Any

import orjson

from logpipe.errors import DecodeError

VERSION_1 = 0x31  # '1'
VERSION_2 = 0x32  # '2'
WINDOW = 0x57  # 'W'
JSON = 0x4A  # 'J'
DATA = 0x44  # 'D'
COMPRESSED = 0x43  # 'C'
ACK = 0x41  # 'A'

_U32 = struct.Struct(">I")
_U32X2 = struct.Struct(">II")
_HEADER = struct.Struct(">BB")
_ACK_FRAME = struct.Struct(">BBI")
_JSON_HEADER = struct.Struct(">BBII")

#: Compressed input is handed to zlib in slices of this size, and output is
#: taken in slices of ``_OUT_SLICE``, so neither side is ever copied whole.
_IN_SLICE = 64 * 1024
_OUT_SLICE = 256 * 1024

MiB = 1024 * 1024


class ProtocolError(DecodeError):
    """The peer sent something that is not Lumberjack, or past a limit."""


@dataclass(slots=True)
class Limits:
    """What one connection may make the decoder hold."""

    #: Largest declared length of one frame (a JSON document, a compressed block,
    #: a whole key/value frame). A header claiming more is refused at once.
    max_frame_bytes: int = 10 * MiB
    #: Largest decompressed content of one compressed frame.
    max_decompressed_bytes: int = 128 * MiB
    #: Largest event count a window frame may announce.
    max_window_size: int = 65536
    #: Largest sum of event payload bytes in one window.
    max_window_bytes: int = 128 * MiB


@dataclass(slots=True)
class Window:
    """One complete window: the unit that is submitted and acknowledged."""

    version: int
    #: The count the window frame announced.
    size: int
    #: Per event: its sequence number and its document (a dict), or the raw
    #: payload bytes when it was not a JSON object.
    seqs: list[int] = field(default_factory=list)
    docs: list[Any] = field(default_factory=list)
    #: Payload bytes of the events (before any decompression overhead).
    nbytes: int = 0
    highest_seq: int = 0
    #: True when a new window frame arrived before this one was full; the
    #: events that did arrive are kept (Logstash does the same).
    partial: bool = False


class Decoder:
    """Incremental Lumberjack decoder: bytes in, complete windows out."""

    __slots__ = ("limits", "_buf", "_ready", "_open", "_remaining", "_scan", "empty_windows")

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._buf = bytearray()
        self._ready: list[Window] = []
        self._open: Window | None = None
        self._remaining = 0
        #: Progress through a key/value frame not yet complete, per buffer
        #: (0: the connection's, 1: inside a compressed frame): (pairs, offset).
        self._scan: list[tuple[int, int] | None] = [None, None]
        #: Window frames that announced zero events (for the connection's log).
        self.empty_windows = 0

    # --- public --------------------------------------------------------------------
    def feed(self, data: bytes | bytearray | memoryview) -> list[Window]:
        """Take the next bytes of the stream; return the windows they completed."""
        buf = self._buf
        buf += data
        used = self._parse(buf, False)
        if used:
            del buf[:used]
        ready = self._ready
        if ready:
            self._ready = []
        return ready

    @property
    def buffered(self) -> int:
        """Bytes received that are not yet a whole frame."""
        return len(self._buf)

    @property
    def window_open(self) -> bool:
        """A window frame arrived and not all of its events have."""
        return self._remaining > 0

    @property
    def idle(self) -> bool:
        """Between windows: nothing half-received."""
        return not self._buf and self._remaining == 0

    # --- frames --------------------------------------------------------------------
    def _parse(self, buf: bytearray, nested: bool) -> int:
        """Decode whole frames from ``buf``; return how many bytes they took."""
        limits = self.limits
        max_frame = limits.max_frame_bytes
        max_window_bytes = limits.max_window_bytes
        end = len(buf)
        pos = 0
        loads = orjson.loads
        with memoryview(buf) as view:
            while end - pos >= 2:
                version = buf[pos]
                kind = buf[pos + 1]
                if version != VERSION_2 and version != VERSION_1:
                    raise ProtocolError(f"bad version byte 0x{version:02x}, expected '2'"
                                        + (" inside a compressed frame" if nested else ""))
                if kind == JSON:
                    if end - pos < 10:
                        break
                    _, _, seq, length = _JSON_HEADER.unpack_from(buf, pos)
                    if length > max_frame:
                        raise ProtocolError(f"JSON frame of {length} bytes exceeds "
                                            f"max_frame_bytes ({max_frame})")
                    stop = pos + 10 + length
                    if stop > end:
                        break
                    window = self._open
                    if window is None:
                        raise ProtocolError(f"data frame (seq {seq}) outside a window")
                    try:
                        doc = loads(view[pos + 10:stop])
                        if type(doc) is not dict:
                            doc = bytes(view[pos + 10:stop])
                    except orjson.JSONDecodeError:
                        doc = bytes(view[pos + 10:stop])
                    pos = stop
                    # The body of _add, inlined: this is the per-event hot path.
                    window.seqs.append(seq)
                    window.docs.append(doc)
                    window.nbytes += length
                    if seq > window.highest_seq:
                        window.highest_seq = seq
                    if window.nbytes > max_window_bytes:
                        raise ProtocolError(f"window payload exceeds max_window_bytes "
                                            f"({max_window_bytes})")
                    self._remaining -= 1
                    if not self._remaining:
                        self._ready.append(window)
                        self._open = None
                elif kind == WINDOW:
                    if end - pos < 6:
                        break
                    (count,) = _U32.unpack_from(buf, pos + 2)
                    pos += 6
                    self._start_window(version, count)
                elif kind == COMPRESSED:
                    if nested:
                        raise ProtocolError("compressed frame inside a compressed frame")
                    if end - pos < 6:
                        break
                    (length,) = _U32.unpack_from(buf, pos + 2)
                    if length > max_frame:
                        raise ProtocolError(f"compressed frame of {length} bytes exceeds "
                                            f"max_frame_bytes ({max_frame})")
                    stop = pos + 6 + length
                    if stop > end:
                        break
                    self._inflate(view[pos + 6:stop])
                    pos = stop
                elif kind == DATA:
                    stop = self._data_frame_end(buf, pos, end, 1 if nested else 0)
                    if stop < 0:
                        break
                    window = self._open
                    seq, doc = _decode_pairs(buf, pos)
                    if window is None:
                        raise ProtocolError(f"data frame (seq {seq}) outside a window")
                    self._add(window, seq, doc, stop - pos - 10)
                    pos = stop
                elif kind == ACK:
                    raise ProtocolError("client sent an ACK frame")
                else:
                    raise ProtocolError(f"unknown frame type 0x{kind:02x}")
        return pos

    def _start_window(self, version: int, count: int) -> None:
        if count > self.limits.max_window_size:
            raise ProtocolError(f"window of {count} events exceeds max_window_size "
                                f"({self.limits.max_window_size})")
        current = self._open
        if current is not None and current.seqs:
            current.partial = True
            self._ready.append(current)
        if count == 0:
            self.empty_windows += 1
            self._open = None
            self._remaining = 0
            return
        self._open = Window(version, count)
        self._remaining = count

    def _add(self, window: Window, seq: int, doc: Any, nbytes: int) -> None:
        window.seqs.append(seq)
        window.docs.append(doc)
        window.nbytes += nbytes
        if seq > window.highest_seq:
            window.highest_seq = seq
        if window.nbytes > self.limits.max_window_bytes:
            raise ProtocolError(f"window payload exceeds max_window_bytes "
                                f"({self.limits.max_window_bytes})")
        self._remaining -= 1
        if self._remaining == 0:
            self._ready.append(window)
            self._open = None

    def _data_frame_end(self, buf: bytearray, pos: int, end: int, slot: int) -> int:
        """End offset of the key/value frame at ``pos``, or -1 while incomplete.

        The frame has no overall length, so its pairs are walked; progress is
        kept between calls so that a large frame arriving in pieces is walked once.
        """
        if end - pos < 10:
            return -1
        _, pairs = _U32X2.unpack_from(buf, pos + 2)
        max_frame = self.limits.max_frame_bytes
        if pairs * 8 > max_frame:
            raise ProtocolError(f"key/value frame of {pairs} pairs exceeds max_frame_bytes ({max_frame})")
        done, off = self._scan[slot] or (0, 10)
        while done < pairs:
            at = pos + off
            if at + 4 > end:
                break
            (klen,) = _U32.unpack_from(buf, at)
            voff = off + 4 + klen
            if voff + 4 - 10 > max_frame:
                raise ProtocolError(f"key/value frame exceeds max_frame_bytes ({max_frame})")
            if pos + voff + 4 > end:
                break
            (vlen,) = _U32.unpack_from(buf, pos + voff)
            nxt = voff + 4 + vlen
            if nxt - 10 > max_frame:
                raise ProtocolError(f"key/value frame exceeds max_frame_bytes ({max_frame})")
            if pos + nxt > end:
                break
            done += 1
            off = nxt
        if done < pairs:
            self._scan[slot] = (done, off)
            return -1
        self._scan[slot] = None
        return pos + off

    def _inflate(self, payload: memoryview) -> None:
        """Decode the frames inside a compressed frame, a slice at a time."""
        budget = self.limits.max_decompressed_bytes
        inflater = zlib.decompressobj()
        inner = bytearray()
        total = 0
        start = 0
        size = len(payload)
        tail: bytes | memoryview = b""
        try:
            while not inflater.eof:
                if not tail and start < size:
                    tail = payload[start:start + _IN_SLICE]
                    start += _IN_SLICE
                out = inflater.decompress(tail, _OUT_SLICE)
                tail = inflater.unconsumed_tail
                if out:
                    total += len(out)
                    if total > budget:
                        raise ProtocolError(f"compressed frame expands past max_decompressed_bytes "
                                            f"({budget})")
                    inner += out
                    used = self._parse(inner, True)
                    if used:
                        del inner[:used]
                elif not tail and start >= size:
                    break
        except zlib.error as exc:
            raise ProtocolError(f"compressed frame is not valid zlib data: {exc}") from None
        finally:
            tail = b""
        if not inflater.eof:
            raise ProtocolError("compressed frame ends before its zlib stream does")
        if inner or self._scan[1] is not None:
            self._scan[1] = None
            raise ProtocolError(f"compressed frame ends inside a frame ({len(inner)} bytes left over)")


def _decode_pairs(buf: bytearray, pos: int) -> tuple[int, dict[str, str]]:
    """The sequence number and fields of a complete key/value frame at ``pos``."""
    seq, pairs = _U32X2.unpack_from(buf, pos + 2)
    at = pos + 10
    doc: dict[str, str] = {}
    for _ in range(pairs):
        (klen,) = _U32.unpack_from(buf, at)
        at += 4
        key = buf[at:at + klen].decode("utf-8", "replace")
        at += klen
        (vlen,) = _U32.unpack_from(buf, at)
        at += 4
        doc[key] = buf[at:at + vlen].decode("utf-8", "replace")
        at += vlen
    return seq, doc


# --- encoders ------------------------------------------------------------------------
def encode_ack(seq: int, version: int = VERSION_2) -> bytes:
    return _ACK_FRAME.pack(version, ACK, seq)


def encode_window(count: int, version: int = VERSION_2) -> bytes:
    return _ACK_FRAME.pack(version, WINDOW, count)


def encode_json(seq: int, payload: bytes, version: int = VERSION_2) -> bytes:
    return _JSON_HEADER.pack(version, JSON, seq, len(payload)) + payload


def encode_data(seq: int, fields: dict[str, str], version: int = VERSION_2) -> bytes:
    parts = [_JSON_HEADER.pack(version, DATA, seq, len(fields))]
    for key, value in fields.items():
        k = key.encode()
        v = value.encode()
        parts.append(_U32.pack(len(k)) + k + _U32.pack(len(v)) + v)
    return b"".join(parts)


def encode_compressed(frames: bytes, level: int = 6, version: int = VERSION_2) -> bytes:
    packed = zlib.compress(frames, level)
    return _HEADER.pack(version, COMPRESSED) + _U32.pack(len(packed)) + packed


def encode_window_of(docs: list[dict[str, Any]], *, first_seq: int = 1, compress_level: int = 0) -> bytes:
    """A whole window as a client sends it: window frame, then JSON frames (maybe compressed)."""
    frames = b"".join(encode_json(first_seq + i, orjson.dumps(d)) for i, d in enumerate(docs))
    if compress_level:
        frames = encode_compressed(frames, compress_level)
    return encode_window(len(docs)) + frames


def decode_acks(data: bytes) -> tuple[list[int], bytes]:
    """Sequence numbers of the ACK frames in ``data`` and the bytes left over (for clients)."""
    seqs: list[int] = []
    pos = 0
    while len(data) - pos >= 6:
        version, kind, seq = _ACK_FRAME.unpack_from(data, pos)
        if kind != ACK:
            raise ProtocolError(f"expected an ACK frame, got type 0x{kind:02x}")
        seqs.append(seq)
        pos += 6
    return seqs, data[pos:]
