"""Scrubbing a batch at once gives what scrubbing each event alone gives.

The batch path (:meth:`Scrubber.scrub_batch`) scans the batch in one native
call and walks only the strings a trigger starts in; these properties hold it
to the per-event path on random batches: secrets in keys and text at any
depth, numbers whose digits read as cards, quotes and backslashes around
secret names, text outside ASCII (which takes the per-event check), and values
that repeat across events.
"""
from __future__ import annotations

import copy
import string
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logpipe.core.event import Event
from logpipe.filters.patternset import PatternSet, available_engines
from logpipe.filters.scrub import ScrubConfig, Scrubber
from logpipe.filters.scrub.config import ALL_KINDS, DEFAULT_SECRET_FIELDS, DEFAULT_SECRET_PARAMS
from logpipe.filters.scrub.prefilter import EventPrefilter

pytestmark = pytest.mark.skipif("hyperscan" not in available_engines(),
                                reason="the batch scan needs Hyperscan's match offsets")

SCRUBBER = Scrubber(ScrubConfig(), key=b"batch-key")
SCRUBBER._native = None  # the Python check's batch scan (test_scrub_native.py holds the native one)
PIECES = ["password=hunter2", "Pass_Word: x", "x-api-key\t=\"k y\"", "token", "\"", "'", "\\", ":", "=",
          "a@b.io", "x%40y.com", "user@@", "eyJhbGciOi.eyJzdWIi.sig", "Bearer abc.def", "AKIAABCDEFGHIJKLMNOP",
          "4111 1111 1111 1111", "4111111111111111", "1700000000000", "/etc/passwd", "SELECT password FROM",
          "é", "\u212a", "ſ", "\n", "\t", " ", "plain words", "{},null,{", "\\\"", "[REDACTED:secret]"]
TEXT = st.lists(st.one_of(st.sampled_from(PIECES), st.text(alphabet=string.printable, max_size=8)),
                max_size=5).map("".join)
KEYS = st.one_of(st.sampled_from(["message", "user", "note", "password", "db_password", "Api-Key",
                                  "authorization", "cookie", "x", "email", "token\"", "pass\\word"]), TEXT)
LEAVES = st.one_of(TEXT, st.integers(), st.floats(allow_nan=False), st.booleans(), st.none(),
                   st.sampled_from([2.3387000000000002, 48.8582, 4111111111111111, 12345678901234.5]))
VALUES = st.recursive(LEAVES, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                      st.dictionaries(KEYS, inner, max_size=3)),
                      max_leaves=10)
EVENTS = st.dictionaries(KEYS, VALUES, min_size=1, max_size=4)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(EVENTS, min_size=2, max_size=6), st.data())
def test_a_batch_is_scrubbed_like_each_event_alone(datas: list[dict[str, Any]], data: st.DataObject) -> None:
    # Some events repeat whole: the same strings in several events of one batch.
    datas = datas + [copy.deepcopy(d) for d in data.draw(st.lists(st.sampled_from(datas), max_size=2))]
    alone = [Event(copy.deepcopy(d)) for d in datas]
    batch = [Event(copy.deepcopy(d)) for d in datas]
    for event, a in zip(batch, alone):
        event.data["@timestamp"] = a.data["@timestamp"]
    for event in alone:
        SCRUBBER.scrub(event)
    SCRUBBER.scrub_batch(batch)
    assert [e.data for e in batch] == [e.data for e in alone]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(EVENTS, min_size=2, max_size=6))
def test_the_batch_check_leaves_alone_only_events_scrubbing_would_not_change(
        datas: list[dict[str, Any]]) -> None:
    """An event the batch plan skips is one that scrubbing it alone leaves as it is."""
    plans = SCRUBBER._prefilter.scan_batch(datas)
    for data, plan in zip(datas, plans):
        if not plan:
            alone = copy.deepcopy(data)
            assert SCRUBBER.scrub_dict(alone) == {}
            assert alone == data


def test_a_card_found_only_in_numbers_walks_nothing() -> None:
    datas = [{"source": {"geo": {"location": {"lon": 2.3387000000000002}}}, "bytes": 4111111111111111},
             {"message": "nothing here"}]
    assert SCRUBBER._prefilter.scan_batch(datas) == [frozenset(), frozenset()]


def test_the_plan_names_the_strings_a_trigger_lies_in() -> None:
    datas = [{"user": {"email": "erin@example.com", "name": "erin"}, "password": "x", "n": 1.25},
             {"message": "GET /?token=abc HTTP/1.1", "agent": "curl"},
             {"note": "say \"pwd\": x", "db_Password": {"k": "v"}, "list": ["a\\", "api_key=1"]}]
    first, second, third = SCRUBBER._prefilter.scan_batch(datas)
    assert first == {"erin@example.com": frozenset({"email"}), "password": frozenset({"secret"})}
    assert second == {"GET /?token=abc HTTP/1.1": frozenset({"secret"})}
    assert third == {"say \"pwd\": x": frozenset({"secret"}), "db_Password": frozenset({"secret"}),
                     "api_key=1": frozenset({"secret"})}


def test_text_outside_ascii_takes_the_per_event_check() -> None:
    """Hyperscan folds case for ASCII letters only: a Kelvin sign in a secret name
    is found by the exact engine, through the per-event check."""
    datas = [{"\u212aey": 1, "toKen": "v"}, {"message": "to\u212aen=abc"}]
    plans = SCRUBBER._prefilter.scan_batch(datas)
    assert all(type(p) is frozenset and "secret" in p for p in plans)
    events = [Event(copy.deepcopy(d)) for d in datas]
    SCRUBBER.scrub_batch(events)
    assert "toKen" not in events[0].data
    assert events[1].data["message"] == "to\u212aen=[REDACTED:secret]"


@pytest.mark.parametrize("engine", available_engines())
def test_dotted_and_dotless_i_are_secret_letters_as_re_reads_them(engine: str) -> None:
    """``re`` under IGNORECASE takes ``İ`` and ``ı`` for an ``i`` (RE2 does not):
    the check reports the pair, so the walk masks what the mask matches."""
    prefilter = EventPrefilter(ALL_KINDS, [*DEFAULT_SECRET_FIELDS, *DEFAULT_SECRET_PARAMS], engine=engine)
    for text in ("ap\u0130_key:1 /etc/passwd", "s\u0131gnature=abc"):
        assert "secret" in prefilter.scan({"message": text})
    event = Event({"message": "ap\u0130_key:1 /etc/passwd"})
    SCRUBBER.scrub(event)
    assert event.data["message"] == "ap\u0130_key:[REDACTED:secret] /etc/passwd"


def test_a_key_ending_in_a_newline_is_checked_as_is_secret_name_reads_it() -> None:
    """``is_secret_name`` takes ``password\\n`` (its suffix pattern ends in ``$``), so
    the check reports it, alone and in a batch."""
    assert SCRUBBER.is_secret_name("password\n_")
    alone = Event({"password\n_": [], "note": "x"})
    SCRUBBER.scrub(alone)
    batch = [Event({"password\n": "v"}), Event({"note": "x"})]
    SCRUBBER.scrub_batch(batch)
    assert "password\n_" not in alone.data and "password\n" not in batch[0].data


def test_without_positions_every_event_is_checked_alone() -> None:
    prefilter = EventPrefilter(ALL_KINDS, [*DEFAULT_SECRET_FIELDS, *DEFAULT_SECRET_PARAMS], engine="re2")
    datas = [{"password": "x"}, {"message": "hello"}]
    assert prefilter.scan_batch(datas) == [prefilter.scan(d) for d in datas]


TRIGGERS = EventPrefilter(ALL_KINDS, [*DEFAULT_SECRET_FIELDS, *DEFAULT_SECRET_PARAMS], engine="hyperscan")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(TEXT.filter(str.isascii), min_size=1, max_size=6))
def test_ends_over_joined_texts_find_the_patterns_each_text_holds(texts: list[str]) -> None:
    """One scan of the texts joined by newlines finds, in each text, the patterns a
    scan of that text alone finds."""
    pset = PatternSet([(p, False) for p in TRIGGERS._patterns], engine="hyperscan", ends=True)
    assert pset.scan_ends is not None
    raws = [orjson.dumps(t) for t in texts]
    bounds = [0]
    for raw in raws:
        bounds.append(bounds[-1] + len(raw) + 1)
    by_text: list[set[int]] = [set() for _ in raws]
    for pattern_id, end in pset.scan_ends(b"\n".join(raws)):
        by_text[max(j for j, b in enumerate(bounds) if b <= end - 1)].add(pattern_id)
    for raw, found in zip(raws, by_text):
        assert found == set(pset.match_bytes(raw)), raw


def test_names_that_could_hold_quotes_keep_the_per_event_check() -> None:
    prefilter = EventPrefilter(ALL_KINDS, ["pass\"word", "token"], engine="hyperscan")
    datas = [{"pass\"word": "x"}, {"message": "token=1"}]
    assert prefilter.scan_batch(datas) == [prefilter.scan(d) for d in datas]
