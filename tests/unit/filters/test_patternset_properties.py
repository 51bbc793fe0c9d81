"""Hyperscan, RE2 and ``re`` give the same answers to "which patterns occur here?".

The scrub and classify filters take the first engine this machine has; an
operator without Hyperscan (or with ``LOGPIPE_PATTERN_ENGINE=re``) must see the
same tags, classes and masks. Texts are built from pieces of the signatures
themselves, so that hits are common, with case changes, URL escapes, newlines
and letters outside ASCII (which Hyperscan folds differently, see
:mod:`logpipe.filters.patternset`).
"""
from __future__ import annotations

import copy
import os
import string
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logpipe.core.event import Event
from logpipe.filters.classify import ClassifyConfig, signatures
from logpipe.filters.classify.filter import ClassifyFilter
from logpipe.filters.patternset import PatternSet, available_engines
from logpipe.filters.scrub import ScrubConfig, Scrubber
from logpipe.filters.scrub.config import ALL_KINDS, DEFAULT_SECRET_FIELDS, DEFAULT_SECRET_PARAMS
from logpipe.filters.scrub.prefilter import EventPrefilter

pytestmark = pytest.mark.skipif("hyperscan" not in available_engines(),
                                reason="hyperscan has no wheel for this platform")

LISTS = signatures.load()
SPECS = [(p, signatures.LISTS[name]) for name in LISTS for p in LISTS[name]]
ENGINES = {name: PatternSet(SPECS, engine=name) for name in ("hyperscan", "re2", "re")}

PIECES = [
    "' OR '1'='1", "union select", "UNION ALL SELECT", "<script>", "javascript:", "onerror=",
    "../", "..%2f", "%2e%2e%2f", "/etc/passwd", "sqlmap", "Nikto", "nuclei", "login failed",
    "invalid password", "authentication failure", "TimeoutError", "ReadTimeout", "ConnectionRefusedError",
    "ValidationError", "psycopg2.OperationalError", "password=hunter2", "Authorization: Bearer abc.def",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig", "AKIAABCDEFGHIJKLMNOP", "4111 1111 1111 1111",
    "x@example.com", "a%40b.io", "ſelect", "\u212a", "é", "\n", "\r\n", "%27", "+", "/api/v1/items?id=7",
]
TEXT = st.lists(st.one_of(st.sampled_from(PIECES),
                          st.text(alphabet=string.printable, max_size=12),
                          st.text(max_size=6)), max_size=8).map("".join)
CASED = st.tuples(TEXT, st.sampled_from([str, str.upper, str.lower, str.swapcase])).map(
    lambda pair: pair[1](pair[0]))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(CASED)
def test_hyperscan_finds_what_the_re2_set_finds(text: str) -> None:
    assert sorted(ENGINES["hyperscan"].match(text)) == sorted(ENGINES["re2"].match(text)), text


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(CASED.filter(str.isascii))
def test_every_engine_agrees_on_ascii_text(text: str) -> None:
    r"""``re`` (the engine of last resort) reads ``\w`` and ``\b`` with Unicode letters,
    RE2 and Hyperscan with ASCII ones: on ASCII text all three agree."""
    answers = {name: sorted(ps.match(text)) for name, ps in ENGINES.items()}
    assert answers["hyperscan"] == answers["re2"] == answers["re"], text


def test_lone_surrogates_are_scanned_like_before() -> None:
    text = "select \ud800 union select 1"
    assert sorted(ENGINES["hyperscan"].match(text)) == sorted(ENGINES["re2"].match(text))


PREFILTERS = {name: EventPrefilter(ALL_KINDS, [*DEFAULT_SECRET_FIELDS, *DEFAULT_SECRET_PARAMS],
                                   engine=name) for name in ("hyperscan", "re2")}
VALUES = st.recursive(
    st.one_of(CASED, st.integers(), st.booleans(), st.none()),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(["message", "url", "token", "user",
                                                             "api-key", "q", "note"]),
                                            inner, max_size=3)),
    max_leaves=8)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["message", "url", "error", "password", "data"]), VALUES,
                       max_size=4))
def test_scrub_prefilter_and_scrubbing_agree_between_engines(data: dict[str, Any]) -> None:
    assert PREFILTERS["hyperscan"].scan(data) == PREFILTERS["re2"].scan(data)


def _filters(engine: str) -> tuple[ClassifyFilter, Scrubber]:
    before = os.environ.get("LOGPIPE_PATTERN_ENGINE")
    os.environ["LOGPIPE_PATTERN_ENGINE"] = engine
    try:
        config = ClassifyConfig.model_validate({"brute_force": {"enabled": False}})
        return ClassifyFilter(config, id="classify"), Scrubber(ScrubConfig(), key=b"k")
    finally:
        if before is None:
            del os.environ["LOGPIPE_PATTERN_ENGINE"]
        else:
            os.environ["LOGPIPE_PATTERN_ENGINE"] = before


FILTERS = {engine: _filters(engine) for engine in ("hyperscan", "re2")}
STAMP = datetime(2025, 6, 15, 12, 0, tzinfo=timezone.utc)


def _classify_and_scrub(engine: str, records: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    classify, scrubber = FILTERS[engine]
    events = [Event({**copy.deepcopy(r), "@timestamp": STAMP}) for r in records]
    classify.process(events)
    for event in events:
        scrubber.scrub(event)
    return [(e.data, e.metadata) for e in events]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.fixed_dictionaries({
    "message": CASED,
    "url": st.fixed_dictionaries({"original": CASED}),
    "user_agent": st.fixed_dictionaries({"original": st.one_of(st.sampled_from(PIECES), CASED)}),
    "error": st.fixed_dictionaries({"type": CASED}),
    "http": st.fixed_dictionaries({"response": st.fixed_dictionaries(
        {"status_code": st.sampled_from([200, 401, 404, 500])})}),
}), min_size=1, max_size=5))
def test_classify_and_scrub_give_identical_events_with_and_without_hyperscan(
        records: list[dict[str, Any]]) -> None:
    with_hs, without = (_classify_and_scrub(engine, records) for engine in ("hyperscan", "re2"))
    assert with_hs == without
    assert FILTERS["hyperscan"][0]._scanner.engine == "hyperscan"


@pytest.mark.parametrize("engine", ["hyperscan", "re2", "re"])
def test_patterns_beyond_the_native_engines_are_confirmed_exactly(engine: str) -> None:
    """A look-ahead (Hyperscan and RE2 lack it) and a back-reference still count,
    only where they really match."""
    ps = PatternSet([("select", True), ("a(?=b)", False), (r"(\w)\1x", True)], engine=engine)
    assert sorted(ps.match("ab")) == [1]
    assert sorted(ps.match("ac")) == []
    assert sorted(ps.match("zAAX")) == [2]
    assert sorted(ps.match("zABX")) == []
    assert sorted(ps.match("SELECT aab")) == [0, 1]
    assert ps.match("") == []


def test_the_engine_can_be_chosen_for_the_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGPIPE_PATTERN_ENGINE", "re2")
    assert PatternSet([("x", False)]).engine == "re2"
    monkeypatch.delenv("LOGPIPE_PATTERN_ENGINE")
    assert PatternSet([("x", False)]).engine == "hyperscan"
    with pytest.raises(ValueError):
        PatternSet([("x", False)], engine="pcre")


@pytest.mark.parametrize("engine", ["hyperscan", "re2", "re"])
def test_bytes_are_scanned_like_the_text_they_encode(engine: str) -> None:
    ps = PatternSet([("select", True), ("a(?=b)", False), ("é+x", False)], engine=engine)
    for text in ("SELECT ab", "ac", "ééx", "nothing"):
        assert sorted(ps.match_bytes(text.encode())) == sorted(ps.match(text)), text
