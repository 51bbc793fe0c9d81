"""Request bodies to documents: content decoding, then JSON, NDJSON or lines.

Pure functions (no I/O) so each rule is testable alone. Errors say what was
wrong and where: orjson's message with line and column for JSON, the line
number for NDJSON, the element index for arrays. Decompression runs a slice at
a time against a limit, so a small gzip body that inflates to gigabytes is
refused once it passes the limit rather than after.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any

import orjson

_SLICE = 256 * 1024
_IN_SLICE = 64 * 1024

NDJSON_TYPES = frozenset({"application/x-ndjson", "application/ndjson", "application/jsonlines",
                          "application/x-jsonlines", "application/json-lines", "application/jsonl",
                          "application/x-json-stream"})
JSON_TYPES = frozenset({"application/json", "text/json"})
LINES_TYPES = frozenset({"text/plain"})


class BodyError(Exception):
    """The body cannot be used; ``status`` is the HTTP answer (400, 413, 415)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(slots=True)
class Decoded:
    #: JSON objects (dicts) or raw lines (bytes) for the ``lines`` codec.
    docs: list[Any] = field(default_factory=list)
    #: One entry per refused part: where (``line`` or ``index``) and ``error``.
    errors: list[dict[str, Any]] = field(default_factory=list)
    codec: str = ""


# --- content encoding ----------------------------------------------------------------
def decompress(body: bytes, encoding: str, limit: int) -> bytes:
    """Undo ``Content-Encoding`` (gzip, deflate, identity) within ``limit`` bytes."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding in ("gzip", "x-gzip"):
        return _inflate(body, 16 + zlib.MAX_WBITS, limit, "gzip")
    if encoding == "deflate":
        # HTTP's "deflate" is meant to be zlib-wrapped, but some clients send raw deflate.
        if len(body) >= 2 and (body[0] & 0x0F) == 8 and int.from_bytes(body[:2], "big") % 31 == 0:
            return _inflate(body, zlib.MAX_WBITS, limit, "deflate")
        return _inflate(body, -zlib.MAX_WBITS, limit, "deflate")
    raise BodyError(415, f"unsupported Content-Encoding {encoding!r} (use gzip, deflate or none)")


def _inflate(body: bytes | memoryview, wbits: int, limit: int, name: str) -> bytes:
    out = bytearray()
    view = memoryview(body)
    size = len(view)
    start = 0
    inflater = zlib.decompressobj(wbits)
    tail: bytes | memoryview = b""
    try:
        while True:
            if not tail and start < size:
                tail = view[start:start + _IN_SLICE]
                start += _IN_SLICE
            chunk = inflater.decompress(tail, _SLICE)
            tail = inflater.unconsumed_tail
            out += chunk
            if len(out) > limit:
                raise BodyError(413, f"body is larger than max_decompressed_bytes ({limit}) once "
                                     f"{name}-decoded")
            if inflater.eof:
                break
            if not chunk and not tail and start >= size:
                raise BodyError(400, f"{name} body is truncated")
    except zlib.error as exc:
        raise BodyError(400, f"body is not valid {name} data: {exc}") from None
    rest = inflater.unused_data + bytes(view[start:])
    if rest and wbits > 16:
        # gzip allows several members one after another.
        out += _inflate(rest, wbits, limit - len(out), name)
    return bytes(out)


# --- codecs --------------------------------------------------------------------------
def pick_codec(setting: str, content_type: str, body: bytes) -> str:
    """The codec for one request: the setting, or with ``auto`` the Content-Type."""
    if setting != "auto":
        return setting
    ctype = content_type.split(";", 1)[0].strip().lower()
    if ctype in NDJSON_TYPES:
        return "ndjson"
    if ctype in JSON_TYPES:
        return "json-auto"
    if ctype in LINES_TYPES:
        return "lines"
    start = body.lstrip()[:1]
    return "json-auto" if start in (b"{", b"[") else "lines"


def decode(body: bytes, codec: str) -> Decoded:
    if codec == "lines":
        return Decoded(docs=split_lines(body), codec="lines")
    if codec == "ndjson":
        return decode_ndjson(body)
    return decode_json(body, ndjson_fallback=codec == "json-auto")


def split_lines(body: bytes) -> list[bytes]:
    lines = body.split(b"\n")
    return [ln[:-1] if ln.endswith(b"\r") else ln for ln in lines if ln.strip()]


def decode_json(body: bytes, *, ndjson_fallback: bool = False) -> Decoded:
    """One JSON object, or an array of objects."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        first_newline = body.find(b"\n")
        if ndjson_fallback and 0 <= first_newline <= exc.pos:
            # The first line parsed and more followed: newline-delimited JSON sent as
            # application/json, which many shippers do.
            return decode_ndjson(body)
        return Decoded(errors=[_json_error(exc)], codec="json")
    if isinstance(value, dict):
        return Decoded(docs=[value], codec="json")
    if isinstance(value, list):
        out = Decoded(codec="json")
        for index, item in enumerate(value):
            if isinstance(item, dict):
                out.docs.append(item)
            else:
                out.errors.append({"index": index, "error": f"expected a JSON object, got {_kind(item)}"})
        return out
    return Decoded(errors=[{"error": f"expected a JSON object or an array of objects, got {_kind(value)}"}],
                   codec="json")


def decode_ndjson(body: bytes) -> Decoded:
    """One JSON object per line; blank lines are skipped."""
    out = Decoded(codec="ndjson")
    docs = out.docs
    loads = orjson.loads
    for number, line in enumerate(body.split(b"\n"), 1):
        if not line or line.isspace():
            continue
        try:
            value = loads(line)
        except orjson.JSONDecodeError as exc:
            out.errors.append({"line": number, "column": exc.colno, "error": exc.msg})
            continue
        if type(value) is dict:
            docs.append(value)
        else:
            out.errors.append({"line": number, "error": f"expected a JSON object, got {_kind(value)}"})
    return out


def _json_error(exc: orjson.JSONDecodeError) -> dict[str, Any]:
    return {"line": exc.lineno, "column": exc.colno, "position": exc.pos, "error": exc.msg}


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__
