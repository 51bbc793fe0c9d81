"""fingerprint: digests as Logstash computes them (cases from logstash-filter-fingerprint's
spec), the Ruby text forms of values, and the ECS default target."""
from __future__ import annotations

import re
from datetime import datetime, timezone
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
    assert fp({"clientip": 123}, source="clientip", method="MURMUR3") == 823512154


@pytest.mark.parametrize(("value", "b64", "expected"), [
    (IP, False, "41cbc4056eed401d091dfbeabf7ea9e0"),
    (IP, True, "QcvEBW7tQB0JHfvqv36p4A=="),
    (123, False, "286816c693ac410ed63e1430dcd6f6fe"),
    (123, True, "KGgWxpOsQQ7WPhQw3Nb2/g=="),
    (2148483647, False, "fdc7699a82556c8c584131f0133ee989"),
    (2148483647, True, "/cdpmoJVbIxYQTHwEz7piQ=="),
])
def test_murmur3_128_as_logstash(value: Any, b64: bool, expected: str) -> None:
    assert fp({"clientip": value}, source="clientip", method="MURMUR3_128",
              base64encode=b64) == expected


@pytest.mark.parametrize(("ts", "options", "expected"), [
    (datetime(1970, 1, 1, tzinfo=timezone.utc), {"key": "0123"},
     "1d5379ec92d86a67cfc642d55aa050ca312d3b9a"),
    (datetime(1970, 1, 1, tzinfo=timezone.utc), {"method": "MURMUR3"}, 743372282),
    (datetime(1970, 1, 1, tzinfo=timezone.utc), {"method": "MURMUR3_128"},
     "37785b62a8cae473acc315d39b66d86e"),
    (datetime(2000, 1, 1, 5, 0, 0, 120000, tzinfo=timezone.utc), {"method": "MURMUR3"},
     4263087275),
    (datetime(2000, 1, 1, 5, 0, 0, 123456, tzinfo=timezone.utc), {"method": "MURMUR3"},
     4188855160),
])
def test_timestamps_as_logstash_8(ts: datetime, options: dict[str, Any], expected: Any) -> None:
    assert fp({"@timestamp": ts}, source="@timestamp", **options) == expected


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
    line = ("PHP Warning:  json_encode() [<a href='function.json-encode'>function.json-encode"
            "</a>]: Invalid UTF-8 sequence in argument in /var/www/htdocs/test.php on line 233")
    assert fp({"field1": line}, source="field1", method="PUNCTUATION") == (
        ":_()[<='.-'>.-</>]:-////.")


def test_several_sources_last_wins_or_concatenated() -> None:
    data = {"field1": "test1", "field2": "test2"}
    assert fp(dict(data), source=["field1", "field2"]) == (
        "109f4b3c50d7b0df729d299bc6f8e9ef9066971f")
    assert fp(dict(data), source=["field1", "field2"], concatenate_sources=True) == (
        "e3b6b71eedc656f1d29408264e8a75535db985cb")


def test_objects_and_lists_in_canonical_form() -> None:
    data = {"field1": [{"inner_key": "\U0001F0A1"}, {"1": "2"}], "field2": "\U0001F0A1"}
    assert fp(dict(data), source=["field1", "field2"]) == (
        "58fa9e0e60c9f0d24b51d84cddb26732a39eeb3d")
    assert fp(dict(data), source=["field1", "field2"], concatenate_sources=True) == (
        "d2a1c14e0c9ef137d67114db23b3f2fdbcc90d08")


def test_concatenate_all_fields() -> None:
    data = {"@timestamp": datetime(2017, 7, 26, 14, 44, 27, 64000, tzinfo=timezone.utc),
            "@version": "1", "clientip": IP, "message": "This is a test message",
            "log_level": "INFO", "offset": 123456789, "type": "test"}
    assert fp(data, concatenate_all_fields=True) == "cbf022518e97860403160ed8a41847c0db104e63"


def test_hash_order_does_not_matter() -> None:
    one = fp({"a": {"a0": 0, "a1": 1}, "b": {"b0": 0}}, concatenate_all_fields=True)
    two = fp({"b": {"b0": 0}, "a": {"a1": 1, "a0": 0}}, concatenate_all_fields=True)
    assert one == two


def test_list_source_gives_list_of_hashes() -> None:
    assert fp({"clientip": [IP, "223.223.223.223"]}, source="clientip") == [
        "3a5076c520b4b463f43806896ea0b3978d09dcae", "47bbc4e06edebbace047fed35abeceec64968b81"]


def test_missing_source_writes_nothing_and_ecs_target() -> None:
    assert fp({}, source="absent") is None
    out = run(FingerprintFilter, {"message": "abc"}, add_tag="hashed")[0]
    assert fields(out) == {"message": "abc", "event": {
        "hash": "a9993e364706816aba3e25717850c26c9cd0d89d"}, "tags": ["hashed"]}
    assert out.data["@timestamp"] == T0
