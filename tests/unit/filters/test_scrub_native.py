"""The native scrub check (``logpipe_native.ScrubCheck``) against the Python walk.

:meth:`Scrubber.scrub_batch` takes its plans from the native check when the
module is installed: each event's dicts and lists walked in Rust, every string
searched for the triggers, every key compared with the secret field names. A
plan may name more than needed (it only costs a look) but never less: a string
it leaves out, or a kind it leaves out for a string, must be one the masks would
leave unchanged, and a key it leaves out must be no secret name. These tests
hold it to that on the pieces (each kind's trigger against its mask, text by
text; keys against ``is_secret_name`` in both match modes; the case folding of
``re`` over every code point) and as a whole (a batch scrubbed with native plans
against each event scrubbed alone and against a walk that looks for everything).
"""
from __future__ import annotations

import copy
import os
import re
import string
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logpipe.core.event import Event
from logpipe.filters.scrub import ScrubConfig, Scrubber
from logpipe.filters.scrub.config import ALL_KINDS, DEFAULT_SECRET_FIELDS, DEFAULT_SECRET_PARAMS
from logpipe.filters.scrub.native import FOLDS, KIND_BITS, PLANS, letter_class, native_check
from logpipe.filters.scrub.patterns import SECRET, TextMasker

# Part of what CI installs: there a missing module fails the run instead of skipping.
native = (__import__("logpipe_native") if os.environ.get("CI") == "true"
          else pytest.importorskip("logpipe_native"))


@pytest.fixture(autouse=True)
def _native_check_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests hold the native check to the Python one, so they need it whatever
    ``LOGPIPE_NATIVE`` says for the rest of the suite; a test that turns it off does
    so itself."""
    monkeypatch.delenv("LOGPIPE_NATIVE", raising=False)


def scrubber(**settings: Any) -> Scrubber:
    with pytest.MonkeyPatch.context() as switch:
        switch.delenv("LOGPIPE_NATIVE", raising=False)
        made = Scrubber(ScrubConfig(**settings), key=b"native-key")
    assert made._native is not None
    return made


SUFFIX = scrubber()
EXACT = scrubber(secret_field_match="exact")
FEW_KINDS = scrubber(kinds=["email", "card"], secret_params=["pwd"], secret_fields=["Pass-Word", "k"])

# --- case folding ---------------------------------------------------------------------------


def test_the_folds_are_every_character_re_matches_to_an_ascii_one() -> None:
    """``re`` with IGNORECASE on str matches an ASCII character to these characters
    outside ASCII and no others: the letter classes of the triggers hold them all."""
    candidates = [chr(x) for x in range(0x80, 0x110000) if re.fullmatch(r"(?i)[\x00-\x7f]", chr(x))]
    found: dict[str, set[str]] = {}
    for ch in map(chr, range(0x80)):
        pattern = re.compile(f"(?i:{re.escape(ch)})")
        matched = {c for c in candidates if pattern.fullmatch(c)}
        if matched:
            found[ch] = matched
    expected = {ch: set(extra) for low, extra in FOLDS.items() for ch in (low, low.upper())}
    assert found == expected


@pytest.mark.parametrize("ch", [chr(x) for x in range(0x20, 0x7f)])
def test_a_letter_class_matches_what_re_matches(ch: str) -> None:
    check = native.ScrubCheck([(letter_class(ch), 1)], [], [], 1, 0, list(PLANS))
    pattern = re.compile(f"(?i:{re.escape(ch)})")
    for other in [chr(x) for x in range(0x80)] + [c for extra in FOLDS.values() for c in extra]:
        assert bool(check.text_kinds(other)) == bool(pattern.fullmatch(other)), (ch, other)


# --- triggers against masks, text by text ---------------------------------------------------
PIECES = ["password=hunter2", "Pass_Word: x", "x-api-key\t=\"k y\"", "pa-ss_word='v'", "TO\u212aEN=1", "a\u017fi",
          "apİ_key:1", "sİgnature=", "token", "\"", "'", "\\", ":", "=", "a@b.io", "x%40y.com", "user@@",
          "A@\u212a.io", "eyJhbGciOi.eyJzdWIi.sig", "Bearer abc.def", "BEARER\tx", "AKIAABCDEFGHIJKLMNOP",
          "ASIA0123456789ABCDEF", "4111 1111 1111 1111", "4111-1111-1111-1111", "4111111111111111",
          "1700000000000", "/etc/passwd", "SELECT password FROM", "é", "\u212a", "ſ", "İ", "ı", "\n", "\t",
          " ", "-", "_", "plain words", "[REDACTED:secret]", "😀"]
TEXT = st.lists(st.one_of(st.sampled_from(PIECES), st.text(alphabet=string.printable, max_size=8),
                          st.text(max_size=4)), max_size=6).map("".join)
MASKERS = {name: s._mask for name, s in
           (("suffix", SUFFIX), ("few", FEW_KINDS), ("params", scrubber(secret_params=["a-b_c", "ki", "s"])))}


def _alone(masker: TextMasker, kind: str) -> re.Pattern[str] | None:
    """The mask of one kind as a pattern of its own (None when the masker does not look for it)."""
    if kind not in masker.kinds or not masker._alternatives[kind]:
        return None
    return re.compile(masker._alternatives[kind])


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXT.filter(lambda t: not any(0xD800 <= ord(c) < 0xE000 for c in t)), st.sampled_from(sorted(MASKERS)))
def test_every_kind_a_mask_matches_in_a_text_is_triggered(text: str, which: str) -> None:
    masker = MASKERS[which]
    check = {"suffix": SUFFIX, "few": FEW_KINDS}.get(which) or scrubber(secret_params=["a-b_c", "ki", "s"])
    bits = check._native.text_kinds(text) if len(text) >= check._shortest else 0
    for kind in ALL_KINDS:
        pattern = _alone(masker, kind)
        if pattern is not None and pattern.search(text):
            assert bits & KIND_BITS[kind], (kind, text)


def test_a_string_shorter_than_any_match_is_not_searched() -> None:
    assert FEW_KINDS._shortest == 6  # "a@b.cc"
    assert FEW_KINDS._native.text_kinds("a@b.c") == 0
    assert FEW_KINDS._native.text_kinds("a@b.io") == KIND_BITS["email"]
    # bytes are counted, not characters: a text outside ASCII may be searched when shorter
    assert FEW_KINDS._native.text_kinds("a@b.é") == KIND_BITS["email"]


def test_lone_surrogates_are_left_to_python() -> None:
    with pytest.raises(UnicodeEncodeError):
        SUFFIX._native.text_kinds("token=\udc80")


# --- keys ----------------------------------------------------------------------------------
KEY_PIECES = [*DEFAULT_SECRET_FIELDS, "db", "_", "-", "Pass", "WORD", "x", "\n", "\u212a", "İ", "é", " ", "\t",
              "TOKEN", "Set-Cookie", "\"", "\\"]
KEYS = st.one_of(st.lists(st.sampled_from(KEY_PIECES), max_size=4).map("".join), st.text(max_size=6))
FIELD_SETTINGS = [{}, {"secret_field_match": "exact"}, {"secret_fields": ["Pass-Word", "k", "-"]},
                  {"secret_fields": ["-", "_"]}, {"secret_fields": ["-"], "secret_field_match": "exact"},
                  {"secret_fields": []}, {"secret_fields": ["\u212aey", "a\nb"]}]
KEY_SCRUBBERS = [scrubber(**s) for s in FIELD_SETTINGS]


@settings(max_examples=600, deadline=None)
@given(KEYS.filter(lambda t: not any(0xD800 <= ord(c) < 0xE000 for c in t)), st.integers(0, len(FIELD_SETTINGS) - 1))
def test_a_key_is_named_when_it_is_a_secret_name(key: str, which: int) -> None:
    """Exactly ``is_secret_name`` for ASCII keys; every key outside ASCII is named."""
    check = KEY_SCRUBBERS[which]
    named = check._native.key_may_be_secret(key)
    if key.isascii():
        assert named == check.is_secret_name(key), key
    else:
        assert named


@pytest.mark.parametrize(("key", "suffix", "exact"), [
    ("password", True, True), ("DB_Pass-word", True, False), ("pass_word_", True, True),
    ("token\n", True, False), ("token\n\n", False, False), ("tok_en-\n", True, False),
    ("passwordx", False, False), ("", False, False), ("word", False, False), ("sessionid", True, True)])
def test_keys_in_both_match_modes(key: str, suffix: bool, exact: bool) -> None:
    assert SUFFIX._native.key_may_be_secret(key) is suffix is SUFFIX.is_secret_name(key)
    assert EXACT._native.key_may_be_secret(key) is exact is EXACT.is_secret_name(key)


# --- whole batches -----------------------------------------------------------------------------
LEAVES = st.one_of(TEXT, st.integers(), st.floats(allow_nan=False), st.booleans(), st.none(),
                   st.sampled_from([2.3387000000000002, 4111111111111111, ("a@b.io",), b"token=x"]))
DICT_KEYS = st.one_of(KEYS, TEXT, st.integers(0, 3))
VALUES = st.recursive(LEAVES, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                      st.dictionaries(DICT_KEYS, inner, max_size=3)),
                      max_leaves=10)
EVENTS = st.dictionaries(st.one_of(KEYS, TEXT), VALUES, min_size=1, max_size=4)
BATCH_SCRUBBERS = [SUFFIX, EXACT, FEW_KINDS, scrubber(kinds=["secret"], secret_fields=[], report_field=None),
                   scrubber(truncate_ip={"fields": ["ip"]})]


def _events(datas: list[dict[str, Any]]) -> list[Event]:
    events = []
    for data in datas:
        event = Event.__new__(Event)
        event.data, event.metadata = copy.deepcopy(data), {}
        events.append(event)
    return events


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(EVENTS, min_size=2, max_size=6), st.integers(0, len(BATCH_SCRUBBERS) - 1), st.data())
def test_a_batch_with_native_plans_is_scrubbed_like_each_event_alone(
        datas: list[dict[str, Any]], which: int, data: st.DataObject) -> None:
    check = BATCH_SCRUBBERS[which]
    datas = datas + [copy.deepcopy(d) for d in data.draw(st.lists(st.sampled_from(datas), max_size=2))]
    batch, alone, walked = _events(datas), _events(datas), _events(datas)
    check.scrub_batch(batch)
    for event in alone:
        check.scrub(event)
    for event in walked:
        counts: dict[str, int] = {}
        check._dict(event.data, counts, None)  # every string, every kind, every key
        check._finish(event, counts)
    assert [e.data for e in batch] == [e.data for e in alone] == [e.data for e in walked]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(EVENTS, min_size=1, max_size=6))
def test_native_plans_name_what_the_walk_needs(datas: list[dict[str, Any]]) -> None:
    """A plan is "nothing" only for an event the walk leaves as it is, and a dict plan
    names every string the walk would change and every secret key."""
    plans, undecided = SUFFIX._native.plans(datas)
    for i, (data, plan) in enumerate(zip(datas, plans)):
        if i in undecided:
            assert plan is None
            continue
        walked = copy.deepcopy(data)
        SUFFIX._dict(walked, {}, None)
        if not plan:
            assert walked == data
        else:
            assert type(plan) is dict
            hits = copy.deepcopy(data)
            SUFFIX._dict_hits(hits, {}, plan)
            assert hits == walked


def test_the_plan_names_strings_and_keys_with_their_kinds() -> None:
    datas = [{"user": {"email": "erin@example.com", "name": "erin"}, "password": "x", "n": 1.25},
             {"message": "GET /?token=abc HTTP/1.1", "agent": "curl", "bytes": 4111111111111111},
             {"note": "to\u212aen=abc Bearer eyJhbGciOi.x.y", "\u00e9": 1, 3: ["AKIAABCDEFGHIJKLMNOPQ"]},
             {"message": "nothing here", "tags": ["a", "b"]}]
    plans, undecided = SUFFIX._native.plans(datas)
    assert undecided == []
    assert plans == [{"erin@example.com": frozenset({"email"}), "password": frozenset({SECRET})},
                     {"GET /?token=abc HTTP/1.1": frozenset({SECRET})},
                     {"to\u212aen=abc Bearer eyJhbGciOi.x.y": frozenset({SECRET, "bearer", "jwt"}),
                      "\u00e9": frozenset({SECRET}), "AKIAABCDEFGHIJKLMNOPQ": frozenset({"aws_key"})},
                     frozenset()]


def test_events_it_cannot_answer_go_to_the_python_check() -> None:
    deep: dict[str, Any] = {"password": "x"}
    for _ in range(300):
        deep = {"d": deep}
    datas = [{"message": "bad \udc80 text"}, {"\udc80": 1}, deep, {"ok": "a@b.io"}]
    plans, undecided = SUFFIX._native.plans(datas)
    assert undecided == [0, 1, 2]
    assert plans[:3] == [None, None, None] and plans[3] == {"a@b.io": frozenset({"email"})}
    events = _events(datas)
    SUFFIX.scrub_batch(events)
    assert events[0].data["message"] == "bad \udc80 text"
    assert "password" not in str(events[2].data) and events[3].data["ok"] != "a@b.io"


def test_settings_the_check_cannot_follow_keep_the_python_check(monkeypatch: pytest.MonkeyPatch) -> None:
    assert native_check(ALL_KINDS, ["pässwort"], [], [], 1) is None
    assert Scrubber(ScrubConfig(secret_params=["pässwort"]), key=b"k")._native is None
    monkeypatch.setenv("LOGPIPE_NATIVE", "off")
    assert Scrubber(ScrubConfig(), key=b"k")._native is None
    assert native_check(ALL_KINDS, DEFAULT_SECRET_PARAMS, [], [], 1) is None


def test_the_plans_are_shared_frozensets() -> None:
    assert len(PLANS) == 64 and PLANS[0] == frozenset()
    for bits, plan in enumerate(PLANS):
        assert plan == frozenset(k for k, b in KIND_BITS.items() if bits & b)
    with pytest.raises(ValueError):
        native.ScrubCheck([("x", 32)], [], [], 1, 0, list(PLANS[:32]))


# --- the memo ------------------------------------------------------------------------------------
def _check(memo_entries: int, memo_text_bytes: int) -> Any:
    """A check with SUFFIX's settings and the given memo bounds (0 entries: no memo)."""
    from logpipe.filters.scrub.native import triggers
    names = sorted(SUFFIX._secret_exact)
    return native.ScrubCheck(triggers(SUFFIX.config.kinds, SUFFIX.config.secret_params), names, names,
                             KIND_BITS[SECRET], SUFFIX._shortest, list(PLANS), memo_entries, memo_text_bytes)


#: Few texts, so a batch repeats them: as values and as keys, outside ASCII, longer than
#: the small memo's text bound, with and without triggers.
REPEATED = st.sampled_from(["GET", "/api/memories", "password", "Password", "x-api-key", "a@b.io",
                            "Bearer abc.def", "token=abc", "Mozilla/5.0 (X11; Linux x86_64)", "İstanbul",
                            "to\u212aen=1", "\u212aey", "4111 1111 1111 1111", "eyJhbGciOi.eyJzdWIi.sig",
                            "plain words that run on past the bound", "é@b.io", "AKIAABCDEFGHIJKLMNOP"])
MEMO_LEAVES = st.one_of(REPEATED, REPEATED, TEXT, st.integers())
MEMO_VALUES = st.recursive(MEMO_LEAVES, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.one_of(REPEATED, KEYS), inner, max_size=3)), max_leaves=8)
MEMO_EVENTS = st.dictionaries(st.one_of(REPEATED, KEYS), MEMO_VALUES, min_size=1, max_size=4)
MEMO_CHECKS = {"none": _check(0, 0), "tiny": _check(3, 10), "default": _check(4096, 128)}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(MEMO_EVENTS.filter(lambda d: "\ud800" not in repr(d)), min_size=1, max_size=5),
                min_size=1, max_size=4))
def test_remembered_verdicts_are_the_searched_ones(batches: list[list[dict[str, Any]]]) -> None:
    """Call after call, through a memo that fills and empties (tiny) or keeps what it saw
    (default), the plans are those of the check that remembers nothing (which the tests
    above hold to the per-event scrub)."""
    for datas in batches + batches:
        expected = MEMO_CHECKS["none"].plans(datas)
        for name in ("tiny", "default"):
            assert MEMO_CHECKS[name].plans(datas) == expected, name
    assert MEMO_CHECKS["none"].memo_sizes() == (0, 0)
    texts, keys = MEMO_CHECKS["tiny"].memo_sizes()
    assert texts <= 3 and keys <= 3


def test_the_memo_is_bounded_and_keeps_only_short_texts() -> None:
    check = _check(4, 12)
    long_text = "a long value with a@b.io in it"
    datas = [{"k": "GET /x", "password": long_text, "m": "GET"}, {"k": "a@b.io", "password": long_text}]
    first = check.plans(datas)
    # "GET /x" and "a@b.io" (which may share a slot of the short texts' table): "GET" is
    # too short to search, the long text is searched each time
    texts, keys = check.memo_sizes()
    assert 1 <= texts <= 2 and keys == 3
    only_long = _check(4, 12)
    only_long.plans([{"k": long_text}, {"k": long_text}])
    assert only_long.memo_sizes() == (0, 1)
    assert check.plans(datas) == first
    assert first[0] == [{"password": frozenset({SECRET}), long_text: frozenset({"email"})},
                        {"a@b.io": frozenset({"email"}), "password": frozenset({SECRET}),
                         long_text: frozenset({"email"})}]
    many = [{f"key{i}": f"value {i}@b.io"} for i in range(10)]
    check.plans(many)
    texts, keys = check.memo_sizes()
    assert 0 < texts <= 4 and 0 < keys <= 4
    # a text remembered as a value is still named as a key, and the other way round
    both = [{"password": "password", "a@b.io": "x"}]
    assert check.plans(both)[0] == [{"password": frozenset({SECRET})}]
    assert _check(0, 0).plans(both)[0] == check.plans(both)[0]


#: Texts around the short table's word boundaries (it keeps up to 56 bytes as 7 zero-padded
#: words): pieces of triggers, NUL (the padding's byte), text outside ASCII and folds.
SHORT_PIECES = st.sampled_from(["a", "b", "@", "%40", "eyJ", "AKIA", "4", " ", "-", "=", ":", "token",
                                "\x00", "\x00\x00", "é", "İ", "\u212a", "ſ", "\U0001f600", "Bearer "])
SHORT_TEXTS = st.lists(SHORT_PIECES, min_size=1, max_size=30).map("".join)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(SHORT_TEXTS, min_size=1, max_size=12), min_size=1, max_size=4))
def test_short_texts_share_slots_without_mixing_their_verdicts(batches: list[list[str]]) -> None:
    """Texts of all lengths up to and past the short table's, in tables of one and two
    slots (every text evicts another, texts that pad to the same words meet), give the
    plans of the check that remembers nothing, call after call."""
    checks = [_check(1, 128), _check(2, 128), _check(4096, 128)]
    none = MEMO_CHECKS["none"]
    for texts in batches + batches[::-1]:
        datas = [{"v": text, "w": [text + "\x00", text[:-1]]} for text in texts]
        expected = none.plans(datas)
        for check in checks:
            assert check.plans(datas) == expected
    for check in checks[:2]:
        texts_held, _ = check.memo_sizes()
        assert texts_held <= 2 + 2  # the short table's slots, and two longer texts at most


def test_texts_that_pad_to_the_same_words_are_told_apart() -> None:
    """A text and the same text with NULs after it fill the same zero-padded words; the
    length tells them apart, and a card number cut short is no card."""
    check = _check(1, 128)
    card = "4111 1111 1111 1"
    assert check.text_kinds(card) == KIND_BITS["card"]
    for text, bits in [(card, KIND_BITS["card"]), (card[:-1] + "\x00", 0), (card, KIND_BITS["card"]),
                       (card[:-1], 0), (card + "\x00" * 8, KIND_BITS["card"]), (card[:-1], 0)]:
        plans = check.plans([{"v": text}, {"v": text}])[0]
        assert plans == [({text: PLANS[bits]} if bits else frozenset())] * 2, repr(text)


class _Text(str):
    """A str subclass: the walk reads exact strs only, remembered or not."""


def test_a_remembered_text_is_no_answer_for_a_subclass_or_a_surrogate() -> None:
    """After "a@b.io" is remembered, the same text as a str subclass, and a text with a
    lone surrogate next to it, get the answers of the check that remembers nothing (the
    surrogate's event is left to the Python check)."""
    check, none = _check(1, 128), MEMO_CHECKS["none"]
    check.plans([{"v": "a@b.io"}, {"v": "a@b.io"}])
    datas = [{"v": _Text("a@b.io")}, {"v": "a@b.io\ud800"}, {"v": "a@b.io"}]
    assert check.plans(datas) == none.plans(datas)
    assert check.plans(datas)[1] == [1]


# --- the holders: where the walk goes -----------------------------------------------------------
def _containers(obj: Any) -> dict[int, Any]:
    """Every dict and list below ``obj``, by id."""
    found: dict[int, Any] = {}
    items = obj.values() if type(obj) is dict else obj
    for value in items:
        if type(value) in (dict, list):
            found[id(value)] = value
            found.update(_containers(value))
    return found


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(EVENTS, MEMO_EVENTS), min_size=1, max_size=6), st.sampled_from([SUFFIX, EXACT, FEW_KINDS]))
def test_the_walk_entering_only_the_holders_does_what_the_whole_walk_does(
        datas: list[dict[str, Any]], check: Scrubber) -> None:
    """Holders are containers of the event, and the containers left out change nothing:
    the walk that enters only the holders leaves each event and the counts as the walk
    that enters everything."""
    held_plans, holders, undecided = check._native.plans_held(datas)
    assert (held_plans, undecided) == check._native.plans(datas)
    for i, (data, plan, held) in enumerate(zip(datas, held_plans, holders)):
        if i in undecided or not plan:
            assert held is None
            continue
        assert type(held) is frozenset and held <= set(_containers(data))
        whole = copy.deepcopy(data)
        counts_whole: dict[str, int] = {}
        check._dict_hits(whole, counts_whole, plan)
        counts_held: dict[str, int] = {}
        check._dict_hits(data, counts_held, plan, held)
        assert data == whole
        assert list(counts_held.items()) == list(counts_whole.items())


def test_holders_are_the_containers_above_a_hit() -> None:
    quiet = {"agent": "curl/8", "password": 1}
    plain = {"agent": "curl/8", "tags": ["a", "password"], "deep": {"x": [1, {"y": "GET /"}]}}
    shared = {"mail": "erin@example.com"}
    data: dict[str, Any] = {"message": "hello", "plain": plain, "quiet": quiet, "one": shared, "two": [shared],
                            "headers": {"authorization": "Bearer abc.def"}}
    (plan,), (held,), undecided = SUFFIX._native.plans_held([data])
    assert undecided == []
    assert plan == {"password": frozenset({SECRET}), "erin@example.com": frozenset({"email"}),
                    "authorization": frozenset({SECRET}), "Bearer abc.def": frozenset({"bearer"})}
    # "plain" holds the text "password" only as a value without a trigger: not entered
    assert held == {id(quiet), id(shared), id(data["two"]), id(data["headers"])}
    event = _events([data])
    SUFFIX.scrub_batch(event + _events([{}]))
    assert event[0].data["plain"] == plain and "password" not in event[0].data["quiet"]
    assert event[0].data["one"]["mail"] != "erin@example.com" and event[0].data["two"][0] is event[0].data["one"]
    assert "authorization" not in event[0].data["headers"]
