"""fingerprint: digests as Logstash computes them (cases from logstash-filter-fingerprint's
spec), the Ruby text forms of values, and the ECS default target."""
from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from pydantic import ValidationError

from logpipe.filters.fingerprint import FingerprintFilter
from tests.unit.filters._filter_helpers import T0, fields, run

IP = "123.123.123.123"
KEY = "longencryptionkey"


def fp(data: dict[str, Any], **options: Any) -> Any:
    event = run(FingerprintFilter, data, **{"ecs_compatibility": "disabled", **options})[0]
    return event.data.get("fingerprint")


@pytest.mark.parametrize(("method", "expected"), [
    ("SHA1", "fdc60acc4773dc5ac569ffb78fcb93c9630797f4"),
    ("SHA256", "345bec3eff242d53b568916c2610b3e393d885d6b96d643f38494fd74bf4a9ca"),
    ("SHA384", "22d4c0e8c4fbcdc4887d2038fca7650f0e2e0e2457ff41c06eb2a980dded6749561c814fe182"
               "aff93e2538d18593947a"),
    ("SHA512", "11c19b326936c08d6c50a3c847d883e5a1362e6a64dd55201a25f2c1ac1b673f7d8bf15b8f11"
               "2a4978276d573275e3b14166e17246f670c2a539401c5bfdace8"),
    ("MD5", "9336c879e305c9604a3843fc3e75948f"),
])
def test_hmac_methods(method: str, expected: str) -> None:
    assert fp({"clientip": IP}, source="clientip", method=method, key=KEY) == expected


def test_hmac_base64() -> None:
    assert fp({"clientip": IP}, source="clientip", key=KEY,
              base64encode=True) == "/cYKzEdz3FrFaf+3j8uTyWMHl/Q="


def test_plain_digest_without_key() -> None:
    # sha256("") and sha1("abc") are the standard test vectors
    assert fp({"message": "abc"}) == "a9993e364706816aba3e25717850c26c9cd0d89d"
    assert fp({"message": ""}, method="SHA256") == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")


def test_murmur3_text_and_integer() -> None:
    assert fp({"clientip": IP}, source="clientip", method="MURMUR3") == 4013733395
    as_int = fp({"n": 1}, source="n", method="MURMUR3")
    as_text = fp({"n": "1"}, source="n", method="MURMUR3")
    assert isinstance(as_int, int) and as_int != as_text   # integers hash as 8 bytes


def test_murmur3_128_hex_and_base64_agree() -> None:
    hexed = fp({"message": IP}, method="MURMUR3_128")
    b64 = fp({"message": IP}, method="MURMUR3_128", base64encode=True)
    assert re.fullmatch(r"[0-9a-f]{32}", hexed)
    assert base64.b64decode(b64).hex() == hexed


def test_ipv4_network() -> None:
    assert fp({"clientip": IP}, source="clientip", method="IPV4_NETWORK", key="24") == "123.123.123.0"
    out = run(FingerprintFilter, {"clientip": "nope"}, source="clientip",
              method="IPV4_NETWORK", key="16")[0]
    assert "_fingerprintfailure" in out.data["tags"]
    with pytest.raises(ValidationError, match="prefix length"):
        FingerprintFilter.Config(method="IPV4_NETWORK")


def test_uuid_is_random() -> None:
    a, b = fp({}, method="UUID"), fp({}, method="UUID")
    assert re.fullmatch(r"[0-9a-f-]{36}", a) and a != b


def test_punctuation_keeps_only_punctuation_and_symbols() -> None:
    assert fp({"message": "The quick, brown fox? $5 + 3 = 8!"},
              method="PUNCTUATION") == ",?$+=!"


def test_concatenate_sources_builds_logstash_string() -> None:
    # the string Logstash hashes: |name|value| per sorted source, then a closing bar
    expected = fp({"message": "|field1|a|field2|1|"}, method="SHA256")
    got = fp({"field2": 1, "field1": "a"}, source=["field2", "field1"],
             concatenate_sources=True, method="SHA256")
    assert got == expected


def test_concatenate_all_fields_uses_ruby_forms() -> None:
    event = {"b": {"y": 1.0, "x": None}, "a": ["s", 2]}
    text = ('|@timestamp|2024-05-01T12:00:00.000Z|a|["s", 2]|b|{"x"=>nil, "y"=>1.0}|')
    assert fp(event, concatenate_all_fields=True) == fp({"message": text})


def test_list_source_gives_list_of_hashes() -> None:
    out = fp({"l": ["abc", "abc"]}, source="l")
    assert out == ["a9993e364706816aba3e25717850c26c9cd0d89d"] * 2


def test_missing_source_writes_nothing_and_ecs_target() -> None:
    assert fp({}, source="absent") is None
    out = run(FingerprintFilter, {"message": "abc"}, add_tag="hashed")[0]
    assert fields(out) == {"message": "abc", "event": {
        "hash": "a9993e364706816aba3e25717850c26c9cd0d89d"}, "tags": ["hashed"]}
    assert out.data["@timestamp"] == T0
