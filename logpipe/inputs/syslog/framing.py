"""Syslog over TCP (RFC 6587): octet counting (``LEN SP MSG``) or one message a line.

Each frame chooses for itself: a frame that starts with digits and a space is
octet-counted, anything else runs to the next newline. A length larger than
``max_bytes`` is not trusted (it would make the input hold that much), so such a
frame is read up to the next newline instead. A line longer than ``max_bytes``
is cut, flagged, and the rest of it skipped.
"""
from __future__ import annotations

_LEN_DIGITS = 10


class Framer:
    """Bytes of one connection in, complete frames out as ``(frame, cut)``."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.buf = b""
        self.skipping = False

    def feed(self, data: bytes) -> list[tuple[bytes, bool]]:
        buf = self.buf + data if self.buf else data
        out: list[tuple[bytes, bool]] = []
        pos = 0
        n = len(buf)
        limit = self.max_bytes
        while pos < n:
            if self.skipping:
                nl = buf.find(b"\n", pos)
                if nl < 0:
                    pos = n
                    break
                pos = nl + 1
                self.skipping = False
                continue
            if buf[pos:pos + 1].isdigit():
                space = buf.find(b" ", pos, pos + _LEN_DIGITS + 1)
                if space < 0 and buf.find(b"\n", pos, pos + _LEN_DIGITS + 1) < 0 and n - pos <= _LEN_DIGITS:
                    break                               # the length may still be arriving
                digits = buf[pos:space] if space > pos else b""
                if digits.isdigit() and int(digits) <= limit:
                    end = space + 1 + int(digits)
                    if n < end:
                        break
                    out.append((buf[space + 1:end], False))
                    pos = end
                    continue
            nl = buf.find(b"\n", pos)
            if nl < 0:
                if n - pos > limit:
                    out.append((buf[pos:pos + limit], True))
                    self.skipping = True
                    pos = n
                break
            frame = buf[pos:nl].rstrip(b"\r")
            if len(frame) > limit:
                out.append((frame[:limit], True))
            elif frame:
                out.append((frame, False))
            pos = nl + 1
        self.buf = buf[pos:]
        return out

    def rest(self) -> bytes:
        """What is left when the connection ends (a last frame without newline)."""
        rest, self.buf = self.buf, b""
        return b"" if self.skipping else rest.rstrip(b"\r\n")
