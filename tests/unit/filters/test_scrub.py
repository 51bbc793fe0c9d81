"""Scrubbing by example: what is hashed, removed, masked, and what is left alone."""
from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any

import orjson
import pytest

from logpipe.core.event import Event
from logpipe.errors import ConfigError
from logpipe.filters.scrub import ScrubConfig, ScrubFilter, Scrubber, luhn_valid, scrub_event

KEY = b"test-key"


def digest(address: str, key: bytes = KEY) -> str:
    return hmac.new(key, address.lower().encode(), hashlib.sha256).hexdigest()


def scrubbed(data: dict[str, Any], **settings: Any) -> tuple[dict[str, Any], dict[str, int]]:
    scrubber = Scrubber(ScrubConfig(**settings), key=KEY)
    event = Event(data)
    counts = scrubber.scrub(event)
    return event.to_dict(), counts


def text(value: str, **settings: Any) -> str:
    out, _ = scrubbed({"message": value}, **settings)
    return out["message"]


def test_emails_are_replaced_by_their_keyed_hash() -> None:
    out, counts = scrubbed({"user": {"email": "Alice@Example.COM"},
                            "message": "mail from bob.smith+tag@mail.example.org failed"})
    assert out["user"]["email"] == digest("alice@example.com")
    assert out["message"] == f"mail from {digest('bob.smith+tag@mail.example.org')} failed"
    assert counts == {"email": 2}
    assert out["event"]["scrubbed"] == {"email": 2}


def test_url_encoded_email_is_hashed_as_the_address() -> None:
    assert text("/api/users?email=alice%40example.com&x=1") == \
        f"/api/users?email={digest('alice@example.com')}&x=1"


@pytest.mark.parametrize("name", ["password", "Password", "PASSWD", "pwd", "secret", "token",
                                  "access_token", "refresh-token", "api_key", "apiKey", "API-KEY",
                                  "Authorization", "cookie", "Set-Cookie", "session", "sessionId",
                                  "private_key", "client_secret", "db_password", "X-Api-Key",
                                  "csrf_token"])
def test_secret_named_fields_are_removed_at_any_depth(name: str) -> None:
    data = {"a": {"b": [{"c": {name: "hunter2", "keep": 1}}]}, name: {"nested": "x"}}
    out, counts = scrubbed(data)
    assert out["a"]["b"][0]["c"] == {"keep": 1}
    assert name not in out
    assert counts == {"field": 2}


def test_exact_matching_keeps_longer_names() -> None:
    out, _ = scrubbed({"db_password": "x", "password": "y", "tokens": 5},
                      secret_field_match="exact")
    assert out["db_password"] == "x" and "password" not in out and out["tokens"] == 5


def test_ordinary_fields_near_secret_names_stay() -> None:
    data = {"prompt_tokens": 12, "password_reset_at": "2024-01-01", "tokenizer": "bpe",
            "session_count": 3, "user": {"name": "alice"}}
    out, counts = scrubbed(dict(data))
    for key, value in data.items():
        assert out[key] == value
    assert counts == {}
    assert "event" not in out  # nothing done, nothing recorded


@pytest.mark.parametrize("card", ["4111111111111111", "4111 1111 1111 1111", "4111-1111-1111-1111",
                                  "5500 0000 0000 0004", "378282246310005", "6011000990139424",
                                  "4222222222222", "6304000000000000000", "30569309025904"])
def test_luhn_valid_cards_are_masked(card: str) -> None:
    assert text(f"paid with {card}, thanks") == "paid with [REDACTED:card], thanks"


@pytest.mark.parametrize("value", [
    "4111111111111112",                      # fails Luhn
    "order 123456789012",                    # 12 digits
    "1705312800123",                         # epoch milliseconds (Luhn-valid)
    "1705312800123456",                      # epoch microseconds
    "run demo20261126232028-http-912",       # yyyyMMddHHmmss in an id (Luhn-valid)
    "2024-01-15 10:00:00.123",
    "550e8400-e29b-41d4-a716-446655440000",
    "trace 4bf92f3577b34da6a3ce929d0e0e4736",
    "+1 (555) 010-9999",
])
def test_things_that_are_not_cards_stay(value: str) -> None:
    assert text(value) == value


def test_luhn() -> None:
    assert luhn_valid("79927398713") and not luhn_valid("79927398710")


def test_jwt_bearer_aws_and_secret_parameters_are_masked() -> None:
    jwt = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
           "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")
    assert text(f"got {jwt} from client") == "got [REDACTED:jwt] from client"
    assert text("Authorization: Bearer abc.DEF-123_xyz==") == "Authorization: [REDACTED:secret]"
    assert text("sent bearer abc.DEF-123_xyz==") == "sent bearer [REDACTED:bearer]"
    assert text("key AKIAIOSFODNN7EXAMPLE used") == "key [REDACTED:aws_key] used"
    assert text("ASIAY34FZKBOKMUTVV7A") == "[REDACTED:aws_key]"
    assert text("aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY done") == \
        "aws_secret_access_key=[REDACTED:secret] done"
    assert text("/login?user=bob&password=hunter2&token=abc#frag") == \
        "/login?user=bob&password=[REDACTED:secret]&token=[REDACTED:secret]#frag"
    assert text('{"password": "two words", "user": "bob"}') == \
        '{"password": "[REDACTED:secret]", "user": "bob"}'
    assert text("API-Key: k-123 rest") == "API-Key: [REDACTED:secret] rest"


@pytest.mark.parametrize("value", ["tokens used: 42", "prompt_tokens=512", "no password given",
                                   "the secret garden", "eyJ alone", "AKIA short", "bear with me",
                                   "GET /api/search?q=passwords+manager&page=2"])
def test_near_misses_in_text_stay(value: str) -> None:
    assert text(value) == value


def test_ip_truncation() -> None:
    out, counts = scrubbed({"source": {"ip": "81.2.69.142"}, "client": {"ip": "2001:db8:1:2::7"},
                            "destination": {"ip": "10.1.2.3"}},
                           truncate_ip={"fields": ["source.ip", "client.ip"], "ipv6_prefix": 32})
    assert out["source"]["ip"] == "81.2.69.0"
    assert out["client"]["ip"] == "2001:db8::"
    assert out["destination"]["ip"] == "10.1.2.3"
    assert counts == {"ip": 2}


def test_selected_fields_only() -> None:
    out, counts = scrubbed({"message": "a@b.io", "other": "c@d.io", "http": {"cookie": "x", "q": "e@f.io"}},
                           fields=["message", "http"])
    assert out["message"] == digest("a@b.io") and out["other"] == "c@d.io"
    assert out["http"] == {"q": digest("e@f.io")}
    assert counts == {"email": 2, "field": 1}


def test_counts_add_up_across_runs_and_hold_no_values() -> None:
    scrubber = Scrubber(ScrubConfig(), key=KEY)
    event = Event({"message": "x@y.io and 4111111111111111", "password": "p"})
    scrubber.scrub(event)
    event.data["note"] = "z@y.io"
    scrubber.scrub(event)
    assert event.get("event.scrubbed") == {"email": 2, "card": 1, "field": 1}
    dumped = orjson.dumps(event.to_dict(), default=str)
    for secret in (b"x@y.io", b"z@y.io", b"4111111111111111", b'"p"'):
        assert secret not in dumped


def test_kinds_can_be_limited_and_report_turned_off() -> None:
    out, counts = scrubbed({"message": "x@y.io 4111111111111111"}, kinds=["card"], report_field=None)
    assert out["message"] == "x@y.io [REDACTED:card]"
    assert "event" not in out and counts == {"card": 1}


def test_missing_key_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOGPIPE_SCRUB_KEY", raising=False)
    with pytest.raises(ConfigError, match="LOGPIPE_SCRUB_KEY"):
        ScrubFilter(ScrubFilter.Config(), id="s")


def test_random_key_when_allowed_warns(monkeypatch: pytest.MonkeyPatch,
                                       caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delenv("MY_KEY", raising=False)
    with caplog.at_level(logging.WARNING):
        a = Scrubber(ScrubConfig(key_env="MY_KEY", allow_random_key=True))
        b = Scrubber(ScrubConfig(key_env="MY_KEY", allow_random_key=True))
    assert "will not join" in caplog.text
    assert a.hash_email("x@y.io") != b.hash_email("x@y.io")


def test_key_comes_from_the_named_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_KEY", "s3cret")
    f = ScrubFilter(ScrubFilter.Config(key_env="MY_KEY"), id="s")
    [event] = f.process([Event({"email": "A@B.io"})])
    assert event.get("email") == digest("a@b.io", b"s3cret")


def test_scrub_event_for_outputs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGPIPE_SCRUB_KEY", "outputs-key")
    scrubber = Scrubber(ScrubConfig())
    plain = {"message": "token=abc x@y.io", "authorization": "Basic xyz"}
    assert scrub_event(plain, scrubber) is plain
    assert plain == {"message": f"token=[REDACTED:secret] {digest('x@y.io', b'outputs-key')}",
                     "event": {"scrubbed": {"secret": 1, "email": 1, "field": 1}}}
    event = Event({"password": "p"})
    scrub_event(event, scrubber)
    assert "password" not in event.data


def test_non_string_values_are_left_alone() -> None:
    data = {"n": 4111111111111111, "f": 1.5, "b": True, "none": None, "l": [1, 2.0, None]}
    out, counts = scrubbed(dict(data))
    for key, value in data.items():
        assert out[key] == value
    assert counts == {}


def test_events_the_json_check_cannot_serialize_are_still_scrubbed() -> None:
    for odd in ({1, 2}, 2**70, b"bytes", object()):
        out, counts = scrubbed({"odd": odd, "password": "p", "m": "x@y.io"})
        assert "password" not in out and out["m"] == digest("x@y.io")
        assert counts == {"field": 1, "email": 1}
    scrubber = Scrubber(ScrubConfig(), key=KEY)
    event = Event({1: "non-text key", "token": "t"})
    scrubber.scrub(event)
    assert "token" not in event.data


def test_clean_events_are_left_exactly_as_they_were() -> None:
    data = {"message": "GET /api/memories/123 HTTP/1.1 200 512 0.012", "http": {"request": {"method": "GET"}},
            "user_agent": {"original": "Mozilla/5.0 (X11; Linux x86_64) Firefox/121.0"}, "n": [1, 2, {"a": "b"}]}
    out, counts = scrubbed(orjson.loads(orjson.dumps(data)))
    out.pop("@timestamp")
    assert out == data and counts == {}
