"""The batch path of the classify filter gives the documents of the event-by-event path.

``ClassifyFilter.process`` reads a batch column by column, scans its distinct
texts together and writes the events that show nothing straight away; every
other event goes through ``_one`` as before. These tests hold it to the
event-by-event path (``_by_batch`` off: each event read, scanned and classified
alone, which is how the filter worked before) on generated batches: access
lines with and without attacks, URL-encoded and double-encoded attacks, login
paths, methods and statuses, failed-login actions and messages, error fields,
scanner agents, text outside ASCII, and values of the wrong type. The
brute-force tracker is stateful per event order, so it runs in both with one
fake clock that moves between events.
"""
from __future__ import annotations

import copy
import itertools
from datetime import datetime, timezone
from typing import Any, Callable
from urllib.parse import quote, unquote_plus

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logpipe.core.event import Event
from logpipe.filters.classify import ClassifyConfig, signatures
from logpipe.filters.classify.fields import columns_reader, fields_reader
from logpipe.filters.classify.errors import FAILURE_LEVELS
from logpipe.filters.classify.filter import _QUIET_LEVELS, ClassifyFilter, rows_present
from logpipe.filters.classify.security import LOGIN_FAILURE, SignatureScanner, decoded_forms
from logpipe.filters.patternset import PatternSet, available_engines

STAMP = datetime(2025, 6, 15, 12, 0, tzinfo=timezone.utc)

ATTACKS = ["' OR '1'='1", "1 UNION SELECT password FROM users", "<script>alert(1)</script>",
           "../../etc/passwd", "javascript:alert(1)", "<img src=x onerror=alert(1)>", "; DROP TABLE x"]
ENCODED = [quote(a) for a in ATTACKS] + [quote(quote(a)) for a in ATTACKS]
PATHS = ["/", "/login", "/login/", "/api/auth/login", "/api/v2/auth/login", "/oauth/token", "/token",
         "/api/memories", "/api/memories/42", "/search", "/static/app.js", "/dashboard/"]
QUERIES = ["", "?q=select+a+theme", "?id=7", "?next=%2Fhome", "?q=caf%C3%A9", "?q=" + ENCODED[0],
           "?q=" + ENCODED[8], "?q=" + ATTACKS[1].replace(" ", "+")]
AGENTS = ["Mozilla/5.0 (X11; Linux x86_64) Firefox/127.0", "sqlmap/1.7", "Nikto/2.5", "curl/8.4",
          "python-requests/2.31", "Mozilla/5.0 nuclei", "Ünïcødé agent"]
MESSAGES = ["search served", "login failed for user bob", "Invalid password for alice",
            "authentication failure", "user logged in", "request ok", "Wrong Password entered",
            "Ѕelect * from users", "ſelect", "failed to sign-in", "payment processed"]
ERRORS = ["TimeoutError: read timed out", "psycopg2.OperationalError: could not connect",
          "pydantic.ValidationError", "KeyError: 'x'", "ConnectionRefusedError", ""]

TEXT = st.one_of(st.sampled_from(ATTACKS + ENCODED + MESSAGES), st.text(max_size=12))
STATUS = st.one_of(st.sampled_from([200, 201, 204, 302, 400, 401, 403, 404, 408, 422, 500, 502, 504]),
                   st.sampled_from(["200", "401", "500", "abc", "2000"]),
                   st.sampled_from([0, 99, -1, 200.0, True, None]))
LEVEL = st.one_of(st.none(), st.sampled_from(["info", "INFO", "debug", "warning", "error", "ERROR",
                                              "Critical", "fatal", "notice", "trace", "weird"]),
                  st.integers(0, 5))
#: Values of the wrong type in text fields: lists, objects, numbers.
ODD = st.one_of(st.lists(st.sampled_from(["x", "login failed"]), max_size=2),
                st.fixed_dictionaries({"a": st.just(1)}), st.integers(), st.just(True))


def _maybe(strategy: st.SearchStrategy[Any], odd: float = 0.05) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy, strategy, strategy, ODD) if odd else st.one_of(st.none(), strategy)


@st.composite
def access(draw: st.DrawFn) -> dict[str, Any]:
    path = draw(st.sampled_from(PATHS + [p + "/" for p in PATHS[:3]]))
    query = draw(st.sampled_from(QUERIES))
    method = draw(st.sampled_from(["GET", "POST", "post", "PUT", "HEAD"]))
    status = draw(STATUS)
    agent = draw(st.sampled_from(AGENTS))
    ip = draw(st.sampled_from(["10.0.0.1", "10.0.0.2", "203.0.113.9"]))
    original = path + query
    record: dict[str, Any] = {
        "message": f'{ip} - - [15/Jun/2025:11:59:59 +0000] "{method} {original} HTTP/1.1" {status} 12 "-" "{agent}"',
        "source": {"ip": ip},
        "http": {"request": {"method": method}, "response": {"status_code": status}},
        "url": {"original": original, "path": path},
        "user_agent": {"original": agent},
        "tags": ["access"],
    }
    if query:
        record["url"]["query"] = query[1:]
    if draw(st.booleans()):
        del record["url"]["path"]
    if draw(st.integers(0, 9)) == 0:
        record["event"] = draw(st.sampled_from([{"kind": "metric"}, {"outcome": "unknown"}, {"outcome": "success"},
                                                {"category": "web"}, {"category": ["network"]}, "text"]))
    return record


@st.composite
def app(draw: st.DrawFn) -> dict[str, Any]:
    record: dict[str, Any] = {"message": draw(_maybe(TEXT)), "log": {"level": draw(LEVEL)}}
    if draw(st.booleans()):
        record["http"] = {"response": {"status_code": draw(STATUS)},
                          "request": {"method": draw(st.sampled_from(["GET", "POST"]))}}
    if draw(st.integers(0, 3)) == 0:
        record["error"] = {"type": draw(_maybe(st.sampled_from(ERRORS))),
                           "message": draw(_maybe(st.sampled_from(ERRORS))),
                           "stack_trace": draw(_maybe(TEXT))}
    if draw(st.integers(0, 4)) == 0:
        record["event"] = {"action": draw(_maybe(st.sampled_from(["login_failed", "LOGIN_FAILURE", "login"])))}
    if draw(st.booleans()):
        record["source"] = {"ip": draw(st.sampled_from(["10.0.0.1", "10.0.0.2", ""]))}
    if draw(st.integers(0, 5)) == 0:
        record["url"] = {"original": draw(_maybe(st.sampled_from(PATHS))), "query": draw(_maybe(TEXT))}
    if draw(st.integers(0, 6)) == 0:
        record["user_agent"] = {"original": draw(_maybe(st.sampled_from(AGENTS)))}
    if draw(st.integers(0, 8)) == 0:
        record["http"] = {"request": {"body": {"content": draw(_maybe(TEXT))}, "method": draw(_maybe(st.just("POST")))}}
    return record


BATCH = st.lists(st.one_of(access(), access(), app()), min_size=1, max_size=30)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 7.0  # every call moves on: a change in the order of calls shows
        return self.now


#: Events with every status and level of the generated batches, and nothing else: a
#: filter that has seen them knows those statuses, so the native read writes the
#: events it finds quiet while it reads them (see ClassifyFilter._read_batch).
PRIMER = ([{"http": {"response": {"status_code": s}}} for s in
           [200, 201, 204, 302, 400, 401, 403, 404, 408, 422, 500, 502, 504, "200", "401", "500", "abc", "2000",
            0, 99, -1, 200.0, True, None]]
          + [{"log": {"level": level}} for level in ["info", "INFO", "debug", "warning", "notice", "trace"]])


def _run(batch_path: bool, records: list[dict[str, Any]], settings_: dict[str, Any],
         split: int = 1, primed: bool = False) -> list[dict[str, Any]]:
    """The documents of the records classified in batches of ``split`` events (after
    the PRIMER batch when ``primed``)."""
    config = ClassifyConfig.model_validate(
        {"brute_force": {"threshold": 2, "window_seconds": 30.0}, **settings_})
    f = ClassifyFilter(config, id="classify", clock=Clock())
    if not batch_path:
        f._by_batch = False
    if primed:
        f.process([Event(copy.deepcopy(r)) for r in PRIMER])
    events = [Event({**copy.deepcopy(r), "@timestamp": STAMP}) for r in records]
    for i in range(0, len(events), split):
        f.process(events[i:i + split])
    return [e.data for e in events]


def _keys(value: Any) -> Any:
    """Every key of the documents in its order, at every depth."""
    if type(value) is dict:
        return [(key, _keys(item)) for key, item in value.items()]
    if type(value) is list:
        return [_keys(item) for item in value]
    return None


def _both(records: list[dict[str, Any]], settings_: dict[str, Any], primed: bool = False) -> None:
    by_event = _run(False, records, settings_)
    by_batch = _run(True, records, settings_, split=len(records), primed=primed)
    assert by_batch == by_event
    assert _keys(by_batch) == _keys(by_event)  # the same key order, at every depth


SETTINGS = [{}, {"errors": False}, {"tag_errors": False}, {"brute_force": {"enabled": False}},
            {"scan_fields": ["url.original", "url.query"]}, {"cache_size": 0}, {"max_scan_length": 64},
            {"category_field": "labels.error_class"}, {"category_field": "error_class"},
            {"category_field": "event.error_class"}]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(BATCH, st.sampled_from(SETTINGS), st.booleans())
def test_a_batch_gives_the_documents_of_event_by_event_classification(
        records: list[dict[str, Any]], settings_: dict[str, Any], primed: bool) -> None:
    """Primed, the native read writes most events as quiet while it reads them, and
    the scans then send some of those (attacks, scanners, logins) to the full path."""
    _both(records, settings_, primed)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(BATCH, st.booleans())
def test_the_same_without_the_native_module(monkeypatch_records: list[dict[str, Any]], primed: bool) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LOGPIPE_NATIVE", "off")
        _both(monkeypatch_records, {}, primed)


QUIET_THEN_LOUD = [
    # Written as quiet on reading (a known status), then found by the scans: the
    # full path adds a severity, tags, an authentication category after the keys
    # the quiet write added, which must end up where the full path alone puts them.
    {"message": "GET /x?q=%27%20OR%201%3D1 200", "url": {"original": "/x?q=%27%20OR%201%3D1"},
     "http": {"response": {"status_code": 200}}},
    {"message": "login failed for user bob", "source": {"ip": "10.0.0.1"}},
    {"message": "login failed for user bob", "source": {"ip": "10.0.0.1"}, "event": {"outcome": "unknown"}},
    {"message": "GET / 200", "url": {"original": "/"}, "user_agent": {"original": "sqlmap/1.7"},
     "event": {"category": "web", "kind": "metric"}, "tags": ["x"]},
    {"url": {"original": "/login"}, "http": {"request": {"method": "POST"}, "response": {"status_code": 200}},
     "source": {"ip": "10.0.0.2"}},
    # Failures by status alone, which the native read writes as _one would; with
    # objects in the way of the class or the tags, which it leaves to _one.
    {"message": "GET /x 500", "url": {"original": "/x"}, "http": {"response": {"status_code": 500}}},
    {"message": "GET /x 404", "http": {"response": {"status_code": 404}}, "error": "text",
     "event": {"severity": 90, "outcome": "success"}, "tags": None},
    {"message": "GET /x 408", "http": {"response": {"status_code": 408}}, "error": ["a"],
     "event": {"severity": "high"}},
    {"message": "GET /x 504", "http": {"response": {"status_code": 504}}, "tags": "one", "labels": 3},
    {"message": "GET /x 422", "http": {"response": {"status_code": "422"}}, "tags": ["validation"],
     "labels": {"error_class": "x"}, "event": "text"},
    {"message": "GET /x?q=%27%20OR%201%3D1 503", "url": {"original": "/x?q=%27%20OR%201%3D1"},
     "http": {"response": {"status_code": 503}}, "user_agent": {"original": "sqlmap/1.7"}},
    {"url": {"original": "/login"}, "http": {"request": {"method": "POST"}, "response": {"status_code": 401}},
     "source": {"ip": "10.0.0.2"}},
    {"message": "login failed for user bob", "source": {"ip": "10.0.0.1"}, "http": {"response": {"status_code": 403}}},
    {"message": "search served", "http": {"response": {"status_code": 200}}, "url": {"query": ["odd"]}},
]


@pytest.mark.parametrize("native", ["on", "off"])
@pytest.mark.parametrize("odd", [False, True])
def test_events_written_as_quiet_then_found_loud_keep_their_documents(
        native: str, odd: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """The last record holds a list where a text belongs: with it the whole batch
    takes the event-by-event way (after the quiet writes of the native read)."""
    monkeypatch.setenv("LOGPIPE_NATIVE", native)
    records = QUIET_THEN_LOUD if odd else QUIET_THEN_LOUD[:-1]
    for settings_ in SETTINGS:
        _both(records * 3, settings_, primed=True)


@pytest.mark.parametrize("native", ["on", "off"])
def test_a_failure_written_on_reading_then_found_a_failed_login(native: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without ``http`` or ``url`` the native write adds no category: the full path's
    ``authentication`` category comes after its severity, and is put before it."""
    monkeypatch.setenv("LOGPIPE_NATIVE", native)
    records = [{"status": 500, "message": "login failed for user bob", "source": {"ip": "10.0.0.1"}},
               {"status": 500, "message": "search served"},
               {"status": 200, "message": "login failed for user bob", "event": {"kind": "x"}}] * 3
    settings_ = {"status_field": "status"}
    by_event = _run(False, records, settings_)
    primer = [{"status": 500}, {"status": 200}]
    config = ClassifyConfig.model_validate({"brute_force": {"threshold": 2, "window_seconds": 30.0}, **settings_})
    f = ClassifyFilter(config, id="classify", clock=Clock())
    f.process([Event(r) for r in primer])
    events = [Event({**copy.deepcopy(r), "@timestamp": STAMP}) for r in records]
    f.process(events)
    by_batch = [e.data for e in events]
    assert by_batch == by_event
    assert _keys(by_batch) == _keys(by_event)


def test_the_native_read_writes_quiet_events_of_known_statuses() -> None:
    f = ClassifyFilter(ClassifyConfig(), id="c")
    if f._native_read is None:
        pytest.skip("no native module")
    quiet = {"message": "GET /api/memories 200", "http": {"request": {"method": "GET"},
             "response": {"status_code": 200}}, "url": {"original": "/api/memories"}}
    failed = {"message": "GET /api/memories 500", "http": {"response": {"status_code": 500}}}
    first = [Event(copy.deepcopy(r)) for r in (quiet, failed)]
    _, done = f._read_batch(first)
    assert list(done) == [0, 0]  # no status known yet
    f.process([Event(copy.deepcopy(r)) for r in (quiet, failed)])
    events = [Event(copy.deepcopy(r)) for r in (quiet, failed, {**quiet, "event": {"action": "x"}})]
    _, done = f._read_batch(events)
    assert done[0] and done[1] and not done[2]
    assert events[0].data["event"] == {"category": ["web"], "kind": "event", "outcome": "success"}
    assert (events[1].data["error"], events[1].data["tags"], events[1].data["event"]) == (
        {"category": "server_error"}, ["server_error"],
        {"category": ["web"], "kind": "event", "severity": 47, "outcome": "failure"})
    assert events[2].data["event"] == {"action": "x"}  # an action: left to _one


def test_known_statuses_are_bounded() -> None:
    f = ClassifyFilter(ClassifyConfig(), id="c")
    for start in range(0, 3000, 500):
        f.process([Event({"http": {"response": {"status_code": f"s{i}"}}}) for i in range(start, start + 500)])
        assert len(f._status_parsed) + len(f._status_unparsed) <= 1024
    assert "s2999" in f._status_unparsed  # the latest are kept


def test_brute_force_calls_keep_their_order_across_a_batch() -> None:
    """Failed logins from two sources, mixed with quiet events: the tracker sees them
    in the order of the batch, so the same events are flagged either way."""
    records: list[dict[str, Any]] = []
    for i in range(12):
        ip = "10.0.0.1" if i % 3 else "10.0.0.2"
        records.append({"message": "login failed", "source": {"ip": ip}})
        records.append({"message": "search served", "http": {"response": {"status_code": 200}}})
        records.append({"url": {"original": "/login"}, "http": {"request": {"method": "POST"},
                        "response": {"status_code": 200 if i % 4 else 401}}, "source": {"ip": ip}})
    by_event = _run(False, records, {})
    assert _run(True, records, {}, split=len(records)) == by_event
    assert sum("brute_force" in d.get("tags", []) for d in by_event) > 3


def test_an_error_class_written_where_the_checks_read_keeps_the_event_path() -> None:
    config = ClassifyConfig.model_validate({"category_field": "url.query"})
    assert not ClassifyFilter(config, id="c")._by_batch
    records = [{"url": {"original": "/x", "query": "a"}, "http": {"response": {"status_code": 500}}}]
    assert _run(True, records, {"category_field": "url.query"}) == _run(False, records, {"category_field": "url.query"})


def test_quiet_levels_are_no_failure_levels() -> None:
    assert not {level.lower() for level in _QUIET_LEVELS} & FAILURE_LEVELS


# --- the pieces --------------------------------------------------------------------------

def _decoded_forms_before(text: str) -> str:
    """decoded_forms as it was written first (unquote_plus for every text with + or %)."""
    if "%" not in text and "+" not in text:
        return text
    once = unquote_plus(text, errors="replace")
    if once == text:
        return text
    if "%" in once:
        twice = unquote_plus(once, errors="replace")
        if twice != once:
            return f"{text}\n{once}\n{twice}"
    return f"{text}\n{once}"


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(["+", "%", "%2B", "%252B", "%2", "a", " ", "é", "%C3%A9", "\n"]),
                          st.text(max_size=4)), max_size=10).map("".join))
def test_decoded_forms_are_what_they_were(text: str) -> None:
    assert decoded_forms(text) == _decoded_forms_before(text)


LISTS = signatures.load()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(TEXT, st.sampled_from(MESSAGES)), max_size=20))
def test_found_in_gives_the_kinds_of_each_text(texts: list[str]) -> None:
    batch = SignatureScanner(LISTS, max_length=8192, cache_size=16)
    alone = SignatureScanner(LISTS, max_length=8192, cache_size=0)
    distinct = {t for t in texts if t}
    hits = batch.found_in(distinct)
    uncached = alone.found_in(distinct, cache=False)
    for text in distinct:
        assert hits.get(text, frozenset()) == alone.kinds(text), text
        assert uncached.get(text, frozenset()) == alone.kinds(text), text
    assert batch.found_in(distinct) == hits  # from the cache now
    # The failed-login question on a message, answered from the cache or alone.
    for text in distinct:
        expected = LOGIN_FAILURE in alone.kinds(text)
        assert batch.login_failure_message(text) == expected
        assert alone.login_failure_message(text) == expected


#: Texts with what the native joining leaves aside or changes: "+", escapes, text
#: outside ASCII, a lone surrogate, newlines, attacks split by a "+" or by the cut.
JOIN_PIECES = ["+", "%27", "%2B", "' OR", "+OR+", "'1'='1", "union", "+select", "<script>", "é", "\ud800",
               "\n", " ", "login+failed", "../", "etc/passwd", "x"]
JOIN_TEXTS = st.lists(st.lists(st.sampled_from(JOIN_PIECES), min_size=1, max_size=8).map("".join),
                      min_size=2, max_size=12)


@pytest.mark.skipif("hyperscan" not in available_engines(), reason="hyperscan has no wheel here")
@pytest.mark.parametrize("limit", [64, 8192])
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(texts=JOIN_TEXTS)
def test_texts_joined_natively_get_the_kinds_they_get_alone(limit: int, texts: list[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The native joining of a batch's units answers what each text's own scan does,
    with the texts cut to ``max_scan_length`` and the ones it leaves to Python."""
    joined = SignatureScanner(LISTS, max_length=limit, cache_size=0)
    assert joined._join_units is not None
    with monkeypatch.context() as patch:
        patch.setenv("LOGPIPE_NATIVE", "off")
        python = SignatureScanner(LISTS, max_length=limit, cache_size=0)
    assert python._join_units is None
    distinct = list(dict.fromkeys(texts))
    expected = {i: python.kinds(t) for i, t in enumerate(distinct) if python.kinds(t)}
    assert {i: frozenset(k) for i, k in joined._match_units(distinct).items()} == expected
    assert {i: frozenset(k) for i, k in python._match_units(distinct).items()} == expected


def test_join_units_makes_each_unit_once_and_leaves_escapes_and_wide_text_aside() -> None:
    native = pytest.importorskip("logpipe_native")
    got = native.join_units(["a+b", "x%27", "", "caf\u00e9", "plain", "q" * 10, "\ud800"], 4)
    # "a+b" and its "+"-as-space form; "plain" and the q's cut to 4 characters.
    assert got == (b"a+b\na b\nplai\nqqqq", [8, 13, 18], [0, 4, 5], [1, 2, 3, 6])
    with pytest.raises(TypeError):
        native.join_units(["a", 1], 10)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.one_of(st.none(), st.just(0), st.just(""), st.just(False), st.just("x")),
                         max_size=8), max_size=4),
       st.booleans())
def test_rows_present_are_the_rows_with_a_value(columns: list[list[Any]], as_tuples: bool) -> None:
    native = pytest.importorskip("logpipe_native")
    given_columns = [tuple(c) if as_tuples else c for c in columns]
    expected = sorted({row for column in columns for row, value in enumerate(column) if value is not None})
    assert sorted(rows_present(given_columns)) == expected
    assert native.classify_rows_present(given_columns) == expected


ENGINES = [e for e in ("hyperscan", "re2", "re") if e in available_engines()]
SPECS = [(p, signatures.LISTS[name]) for name in LISTS for p in LISTS[name]]
EDGE_SPECS = [("^select$", True), (r"\bor\b", True), (r"a\s+b", False), ("x$", False), ("^y", False),
              (r"\Bq", False), ("[^z]z", False), (r"\Aonly", False)]
PIECES = ["select", "SELECT", "or", "a", "b", "x", "y", "q", "zz", "z", "only", " ", "\n", "é", "ſ",
          "union select", "../", "%27", "sqlmap", "login failed"]
MANY = st.lists(st.lists(st.sampled_from(PIECES), max_size=6).map("".join), max_size=12)


SPEC_SETS = {"signatures": SPECS, "anchors": EDGE_SPECS, "edges": EDGE_SPECS[:-1]}
_SETS = {(engine, name): PatternSet(specs, engine=engine, ends=True)
         for engine in ENGINES for name, specs in SPEC_SETS.items()}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("specs", sorted(SPEC_SETS))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(texts=MANY)
def test_match_many_answers_match_for_each_text(engine: str, specs: str, texts: list[str]) -> None:
    ps = _SETS[(engine, specs)]
    many = ps.match_many(texts)
    assert {i: sorted(found) for i, found in many.items()} == {
        i: sorted(ps.match(t)) for i, t in enumerate(texts) if ps.match(t)}


@pytest.mark.skipif("hyperscan" not in available_engines(), reason="hyperscan has no wheel here")
def test_one_scan_serves_the_signature_lists_and_not_whole_text_anchors() -> None:
    assert _SETS[("hyperscan", "signatures")]._joined_ends is not None
    assert _SETS[("hyperscan", "edges")]._joined_ends is not None
    assert _SETS[("hyperscan", "anchors")]._joined_ends is None  # \A


KEYS = ["a", "b", "c", "url", "path"]
NESTED = st.recursive(st.one_of(st.none(), st.integers(0, 3), st.sampled_from(["x", ""]), st.lists(st.just(1), max_size=1)),
                      lambda inner: st.dictionaries(st.sampled_from(KEYS), inner, max_size=4), max_leaves=12)
REFS = st.lists(st.lists(st.sampled_from(KEYS), min_size=1, max_size=4).map(".".join), min_size=1, max_size=10)


@pytest.mark.parametrize("native", ["on", "off"])
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(refs=REFS, records=st.lists(st.dictionaries(st.sampled_from(KEYS), NESTED, max_size=5), min_size=1, max_size=6))
def test_columns_are_the_fields_read_event_by_event(native: str, refs: list[str], records: list[dict[str, Any]],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Paths that share prefixes, repeat, or are prefixes of each other; objects, lists
    and scalars on the way."""
    monkeypatch.setenv("LOGPIPE_NATIVE", native)
    events = [Event(copy.deepcopy(r)) for r in records]
    read = fields_reader(refs)
    columns = columns_reader(refs)(events)
    expected = list(zip(*map(read, events)))
    assert len(columns) == len(expected)
    for column, values in zip(columns, expected):
        assert len(column) == len(values)
        assert all(a is b for a, b in zip(column, values))  # the very objects


def test_the_graphmemory_like_batch_needs_no_full_path_for_quiet_events() -> None:
    """The point of the batch path: a quiet access line is written without _one."""
    f = ClassifyFilter(ClassifyConfig(), id="c")
    calls: list[int] = []
    one: Callable[..., None] = f._one
    f._one = lambda *a: (calls.append(1), one(*a))[1]  # type: ignore[method-assign]
    quiet = {"message": "GET /api/memories 200", "http": {"request": {"method": "GET"},
             "response": {"status_code": 200}}, "url": {"original": "/api/memories"}}
    loud = {"message": "GET /x?q=%27%20OR%201%3D1 200", "url": {"original": "/x?q=%27%20OR%201%3D1"}}
    events = [Event(copy.deepcopy(r)) for r in itertools.chain([quiet] * 5, [loud])]
    f.process(events)
    assert len(calls) == 1
    assert events[0].data["event"] == {"category": ["web"], "kind": "event", "outcome": "success"}
    assert "sqli" in events[-1].data["tags"]
