"""HTTP bodies: content decoding, codec choice, errors that say where, credentials."""
from __future__ import annotations

import base64
import gzip
import zlib

import pytest
from pydantic import SecretStr

from logpipe.inputs.http.auth import Authenticator
from logpipe.inputs.http.decode import BodyError, decode, decompress, pick_codec


@pytest.mark.parametrize("content_type, body, codec", [
    ("application/json", b"{}", "json-auto"),
    ("application/json; charset=utf-8", b"{}", "json-auto"),
    ("application/x-ndjson", b"{}", "ndjson"),
    ("application/jsonlines", b"{}", "ndjson"),
    ("text/plain; charset=utf-8", b"{}", "lines"),
    ("", b"  [1]", "json-auto"),
    ("application/x-www-form-urlencoded", b"a line", "lines"),
])
def test_codec_follows_content_type_then_sniffs(content_type: str, body: bytes, codec: str) -> None:
    assert pick_codec("auto", content_type, body) == codec
    assert pick_codec("lines", content_type, body) == "lines"


def test_json_object_array_and_ndjson_fallback() -> None:
    assert decode(b'{"a": 1}', "json").docs == [{"a": 1}]
    assert decode(b'[{"a": 1}, {"b": 2}]', "json").docs == [{"a": 1}, {"b": 2}]
    fallback = decode(b'{"a": 1}\n{"b": 2}\n', "json-auto")
    assert fallback.codec == "ndjson" and fallback.docs == [{"a": 1}, {"b": 2}]
    strict = decode(b'{"a": 1}\n{"b": 2}\n', "json")
    assert strict.docs == [] and strict.errors[0]["line"] == 2


def test_errors_say_where() -> None:
    (err,) = decode(b'{\n  "a": tru\n}', "json").errors
    assert (err["line"], err["column"]) == (2, 8) and "expected 'true'" in err["error"]
    out = decode(b'{"a": 1}\n\n"x"\n{bad\n{"b": 2}', "ndjson")
    assert out.docs == [{"a": 1}, {"b": 2}]
    assert [e["line"] for e in out.errors] == [3, 4]
    assert decode(b"42", "json").errors == [{"error": "expected a JSON object or an array of objects, got a number"}]


def test_lines_keep_content_and_drop_blank_lines() -> None:
    assert decode(b"one\r\n\n  \ntwo", "lines").docs == [b"one", b"two"]


def test_decompression_and_its_limits() -> None:
    data = b'{"a": 1}\n' * 100
    assert decompress(gzip.compress(data), "gzip", 10_000) == data
    assert decompress(zlib.compress(data), "deflate", 10_000) == data
    raw = zlib.compressobj(wbits=-15)
    assert decompress(raw.compress(data) + raw.flush(), "Deflate", 10_000) == data
    assert decompress(data, "identity", 10) == data
    with pytest.raises(BodyError) as big:
        decompress(gzip.compress(b"\0" * 1_000_000), "gzip", 10_000)
    assert big.value.status == 413
    with pytest.raises(BodyError) as truncated:
        decompress(gzip.compress(data)[:-12], "gzip", 10_000)
    assert truncated.value.status == 400
    with pytest.raises(BodyError) as unknown:
        decompress(data, "br", 10_000)
    assert unknown.value.status == 415


def test_authenticator() -> None:
    none = Authenticator(None, None, None)
    assert none.check(None) and not none.enabled
    both = Authenticator(SecretStr("t0k"), "u", SecretStr("p:w"))
    assert both.check("Bearer t0k") and both.check("bearer  t0k ")
    assert both.check("Basic " + base64.b64encode(b"u:p:w").decode())
    for bad in (None, "", "Bearer", "Bearer t0kk", "Basic dTpw", "Basic ***", "Token t0k", "Bearer \udcff"):
        assert not both.check(bad), bad
    assert Authenticator(SecretStr("x"), None, None).challenge.startswith("Bearer")
