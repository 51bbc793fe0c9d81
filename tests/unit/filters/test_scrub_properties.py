"""Property-based tests: whatever the event looks like, nothing sensitive survives."""
from __future__ import annotations

import string
from typing import Any

import orjson
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from logpipe.core.event import Event
from logpipe.filters.scrub import ScrubConfig, Scrubber, luhn_valid

SCRUBBER = Scrubber(ScrubConfig(), key=b"key-one")
OTHER = Scrubber(ScrubConfig(), key=b"key-two")

B64URL = string.ascii_letters + string.digits + "-_"
# Text around a secret: no digits, '@' or alphanumerics glued to it (a space
# separates them), so each generated secret is a secret of its own.
FILLER = st.text(alphabet=string.ascii_letters + " .,;!?()[]{}", max_size=24)


@st.composite
def emails(draw: st.DrawFn) -> str:
    local = draw(st.text(alphabet=string.ascii_letters + string.digits + "._+-", min_size=1, max_size=20)
                 .filter(lambda s: s[0].isalnum()))
    labels = draw(st.lists(st.text(alphabet=string.ascii_lowercase + string.digits + "-", min_size=1,
                                   max_size=12).filter(lambda s: s[0].isalnum() and s[-1].isalnum()),
                           min_size=1, max_size=3))
    tld = draw(st.text(alphabet=string.ascii_letters, min_size=2, max_size=6))
    return f"{local}@{'.'.join(labels)}.{tld}"


@st.composite
def cards(draw: st.DrawFn) -> tuple[str, str]:
    """(digits, as written): a Luhn-valid number of a card network, maybe grouped."""
    length = draw(st.integers(13, 19))
    first = draw(st.sampled_from("23456"))
    body = first + "".join(draw(st.lists(st.sampled_from(string.digits), min_size=length - 2,
                                         max_size=length - 2)))
    check = next(d for d in string.digits if luhn_valid(body + d))
    digits = body + check
    # No network issues 14 digit numbers starting with 2; written without separators they
    # can read as a yyyyMMddHHmmss date-time, which the scrubber rightly leaves alone.
    assume(not (length == 14 and first == "2"))
    sep = draw(st.sampled_from(["", " ", "-"]))
    written = sep.join(digits[i:i + 4] for i in range(0, len(digits), 4)) if sep else digits
    return digits, written


@st.composite
def jwts(draw: st.DrawFn) -> str:
    seg = st.text(alphabet=B64URL, min_size=8, max_size=40)
    return f"eyJ{draw(seg)}.{draw(seg)}.{draw(seg)}"


@st.composite
def bearers(draw: st.DrawFn) -> tuple[str, str]:
    token = draw(st.text(alphabet=B64URL + ".~+/", min_size=16, max_size=60))
    scheme = draw(st.sampled_from(["Bearer", "bearer", "BEARER"]))
    return token, f"{scheme} {token}"


@st.composite
def aws_keys(draw: st.DrawFn) -> str:
    return draw(st.sampled_from(["AKIA", "ASIA"])) + draw(
        st.text(alphabet=string.ascii_uppercase + string.digits, min_size=16, max_size=16))


SECRET_NAMES = st.sampled_from(["password", "Password", "PASSWD", "pwd", "secret", "token", "Token",
                                "access_token", "refresh-token", "api_key", "ApiKey", "API-KEY",
                                "authorization", "Authorization", "cookie", "Set-Cookie", "session",
                                "SessionID", "private_key", "client_secret", "CLIENT-SECRET"])
PLAIN_KEYS = st.sampled_from(["a", "b", "data", "ctx", "detail", "items", "note", "info", "meta"])


@st.composite
def placed(draw: st.DrawFn, leaf: Any) -> Any:
    """``leaf`` wrapped in 0-4 levels of dicts and lists."""
    value = leaf
    for kind in draw(st.lists(st.sampled_from(["dict", "list"]), max_size=4)):
        if kind == "dict":
            value = {draw(PLAIN_KEYS): value, "other": draw(FILLER)}
        else:
            items = draw(st.lists(FILLER, max_size=2))
            items.insert(draw(st.integers(0, len(items))), value)
            value = items
    return value


@st.composite
def sensitive_events(draw: st.DrawFn) -> tuple[dict[str, Any], list[str]]:
    """An event with secrets at random depths, and the strings that must not survive."""
    data: dict[str, Any] = {}
    forbidden: list[str] = []

    def in_text(secret: str) -> str:
        return f"{draw(FILLER)} {secret} {draw(FILLER)}"

    items: list[tuple[str, Any]] = []
    for email in draw(st.lists(emails(), max_size=3)):
        variant = draw(st.sampled_from([email, email.upper(), email.lower()]))
        forbidden.append(email)
        items.append(("text", in_text(variant)))
    for digits, written in draw(st.lists(cards(), max_size=3)):
        forbidden += [digits, written]
        items.append(("text", in_text(written)))
    for jwt in draw(st.lists(jwts(), max_size=2)):
        forbidden.append(jwt)
        items.append(("text", in_text(jwt)))
    for token, header in draw(st.lists(bearers(), max_size=2)):
        forbidden.append(token)
        items.append(("text", in_text(header)))
    for key in draw(st.lists(aws_keys(), max_size=2)):
        forbidden.append(key)
        items.append(("text", in_text(key)))
    for name in draw(st.lists(SECRET_NAMES, max_size=3)):
        marker = "MARK" + draw(st.text(alphabet=string.ascii_lowercase, min_size=12, max_size=12))
        forbidden.append(marker)
        value = draw(st.sampled_from([marker, {"inner": marker}, [marker]]))
        items.append(("field", {name: value, "kept": draw(FILLER)}))
    for i, (_, leaf) in enumerate(items):
        data[f"k{i}"] = draw(placed(leaf))
    return data, forbidden


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(sensitive_events())
def test_nothing_sensitive_survives(case: tuple[dict[str, Any], list[str]]) -> None:
    data, forbidden = case
    event = Event(data)
    SCRUBBER.scrub(event)
    out = orjson.dumps(event.to_dict()).decode().lower()
    for secret in forbidden:
        assert secret.lower() not in out, secret
    report = event.get("event.scrubbed") or {}
    assert all(type(n) is int and n > 0 for n in report.values())


@settings(max_examples=200, deadline=None)
@given(emails(), st.sampled_from([str.upper, str.lower, str.title, lambda s: s]))
def test_same_email_same_hash_under_one_key_other_key_differs(email: str, case: Any) -> None:
    a, b = Event({"user": {"email": email}}), Event({"message": f"from {case(email)} ok"})
    SCRUBBER.scrub(a)
    SCRUBBER.scrub(b)
    digest = a.get("user.email")
    assert len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)
    assert b.get("message") == f"from {digest} ok"
    c = Event({"user": {"email": case(email)}})
    OTHER.scrub(c)
    assert c.get("user.email") != digest


# The whole-event pre-check may only skip events the walk would leave unchanged.
# Each example holds one family of sensitive data only (in otherwise trigger-free
# text), so a family the pre-check forgot would be skipped and show up here.
NO_PRECHECK = Scrubber(ScrubConfig(), key=b"key-one")
NO_PRECHECK._prefilter._set = None  # "all kinds" for every event: always walk, look for all
QUIET = st.text(alphabet="cfghlmnquvxz .,;!?()", max_size=16)
FAMILIES: dict[str, Any] = {
    "email": emails(),
    "email_encoded": emails().map(lambda e: e.replace("@", "%40")),
    "card": cards().map(lambda c: c[1]),
    "jwt": jwts(),
    "bearer": bearers().map(lambda b: b[1]),
    "aws_key": aws_keys(),
    "param": st.tuples(st.sampled_from(["password", "Pass_Word", "API-KEY", "x-api-key", "access-token",
                                        "SessionId", "aws_secret_access_key", "signature"]),
                       st.sampled_from(["=", ": ", "\"=\""]),
                       st.text(alphabet="cfghlmnquvxz", min_size=1, max_size=8)).map("".join),
    "none": QUIET,
}


@st.composite
def one_family_events(draw: st.DrawFn) -> dict[str, Any]:
    family = draw(st.sampled_from(sorted(FAMILIES)))
    leaf = FAMILIES[family].map(lambda secret: f"{draw(QUIET)} {secret} {draw(QUIET)}")
    keys = PLAIN_KEYS
    if draw(st.booleans()):
        keys = st.one_of(PLAIN_KEYS, SECRET_NAMES, st.sampled_from(["Pass-Word", "db_password", "X_API_KEY"]))
    values = st.recursive(st.one_of(leaf, QUIET, st.integers(0, 999)),
                          lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                  st.dictionaries(keys, inner, max_size=3)),
                          max_leaves=8)
    return draw(st.dictionaries(keys, values, min_size=1, max_size=4))


@settings(max_examples=500, deadline=None)
@given(one_family_events())
def test_precheck_skips_only_events_the_walk_would_not_change(data: dict[str, Any]) -> None:
    with_check, without = Event(orjson.loads(orjson.dumps(data))), Event(orjson.loads(orjson.dumps(data)))
    without.data["@timestamp"] = with_check.data["@timestamp"]
    assert SCRUBBER.scrub(with_check) == NO_PRECHECK.scrub(without)
    assert with_check.data == without.data


# --- the whole-event check never hides what the walk would find -------------------------
PAIR_PIECES = ["password", "PassWD", "api-key", "x_api_key", "token", "secret_access_key", "session",
               "=", ":", " ", "\t", "\"", "'", "\\", "/etc/passwd", "SELECT password FROM", "hunter2",
               "Bearer abc", "4111111111111111", "a@b.io", "%40", "eyJhbGciOi.eyJzdWIi.x", "é"]
PAIRS = st.tuples(st.sampled_from(["password", "Api_Key", "token", "x-api-key"]),
                  st.sampled_from(["", "\"", "'"]), st.sampled_from(["", " ", "\t", " \t "]),
                  st.sampled_from(["=", ":"]), st.sampled_from(["", " ", "\t"]),
                  st.sampled_from(["hunter2", "\"quoted secret\"", "'x y'"])).map("".join)
PAIR_TEXT = st.lists(st.one_of(st.sampled_from(PAIR_PIECES), PAIRS), max_size=6).map("".join)
PAIR_VALUES = st.recursive(
    st.one_of(PAIR_TEXT, st.integers(), st.none()),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.one_of(PAIR_TEXT, st.sampled_from(["db_Password_", "note"])),
                                            inner, max_size=3)),
    max_leaves=8)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.one_of(PAIR_TEXT, st.sampled_from(["message", "user"])), PAIR_VALUES, max_size=4))
def test_the_event_check_lets_through_everything_the_walk_would_change(data: dict[str, Any]) -> None:
    """Scrubbing with the check gives what a walk of every event looking for every kind gives."""
    import copy

    checked, walked = copy.deepcopy(data), copy.deepcopy(data)
    counts = SCRUBBER.scrub_dict(checked)
    full: dict[str, int] = {}
    SCRUBBER._dict(walked, full, None)
    assert (checked, counts) == (walked, full)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["pw", "PWD", "k", "=", ":", "@", "%40", ".", "a", "b", "cc", " ", "\t",
                                 "eyJ", "-", "_", "'", "\"", "4", "1", "Bearer", "AKIA"]), max_size=6)
       .map("".join), st.sampled_from([[], ["k"], ["pw"]]))
def test_strings_shorter_than_any_match_are_left_alone(text: str, extra: list[str]) -> None:
    """The walk skips strings shorter than the shortest possible match: none of them masks."""
    scrubber = Scrubber(ScrubConfig(secret_params=[*ScrubConfig().secret_params, *extra]), key=b"k")
    if len(text) < scrubber._shortest:
        assert scrubber.scrub_text(text) == text
