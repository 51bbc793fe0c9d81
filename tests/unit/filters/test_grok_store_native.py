"""The native matcher that stores captures itself gives the capture plan's documents.

``Expression.search_into`` (logpipe_native.PlanMatcher) matches and, on an event
that holds none of the captures' top-level fields, makes the objects and sets
the fields from Rust, converting plain ``:int`` and ``:float`` texts itself;
any other event gets the capture texts back for the Python plan. These tests
hold it to the plan on events of every shape, with key order compared too
(documents are serialized in insertion order), and check the memo of results
per field value that the single-field loop keeps while values repeat.
"""
from __future__ import annotations

import copy
import os
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logpipe.core.event import Event
from logpipe.filters.grok import memo as memo_module
from logpipe.filters.grok.filter import GrokFilter
from logpipe.filters.grok.matcher import Compiler, Expression
from logpipe.filters.grok.memo import ResultMemo

if os.environ.get("CI") != "true":
    pytest.importorskip("logpipe_native")

ACCESS = ('^%{IP:[source][ip]} (?:-|%{NOTSPACE:[@metadata][ident]}) (?:-|%{NOTSPACE:[user][name]}) '
          r'\[%{HTTPDATE:[@metadata][access_time]}\] "%{WORD:[http][request][method]} '
          '%{NOTSPACE:[url][original]} HTTP/%{NUMBER:[http][version]}" '
          '%{INT:[http][response][status_code]:int} (?:-|%{INT:[http][response][body][bytes]:int})'
          '(?: %{NUMBER:[@metadata][request_time]:float} %{NOTSPACE:[http][request][id]})?')
LINES = [
    '1.2.3.4 - - [15/Jun/2025:11:59:00 +0000] "GET /health HTTP/1.1" 200 8979 0.005 bench-2',
    '1.2.3.4 ident bob [15/Jun/2025:11:59:00 +0000] "POST /a?b=1 HTTP/2" 401 - 12 x',
    '::1 - - [15/Jun/2025:11:59:00 +0000] "GET / HTTP/1.0" +5 0012',
    '1.2.3.4 - - [15/Jun/2025:11:59:00 +0000] "GET / HTTP/1.0" 200 99999999999999999999999 1.5e3 r',
    'not an access line',
]
#: Events before the match: fresh, and with each kind of value where a capture goes.
SHAPES: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({}, {}),
    ({"source": {"port": 1}}, {}),
    ({"http": "text"}, {}),
    ({"http": {"request": ["x"]}}, {}),
    ({"user": {"name": "alice"}}, {}),
    ({"url": 7}, {}),
    ({}, {"ident": "old"}),
    ({}, {"access_time": ["a"]}),
    ({"http": {"response": {"status_code": "1"}}}, {"request_time": 3}),
]


def _native(text: str, **options: Any) -> Expression:
    if os.environ.get("LOGPIPE_NATIVE") == "off":
        pytest.skip("the native module is switched off")
    expression = Compiler().compile(text, **options)
    assert expression.search_into is not None, "the native module should take this expression"
    return expression


def _shape(value: Any) -> Any:
    """A value with its types and its keys' order, for exact comparison."""
    if isinstance(value, dict):
        return ("dict", [(k, _shape(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [_shape(v) for v in value])
    return (type(value).__name__, repr(value))


def _stored(expression: Expression, line: str, data: dict[str, Any], meta: dict[str, Any],
            *, native: bool) -> tuple[bool, Any, Any]:
    event = Event({"message": line, "@timestamp": "fixed", **copy.deepcopy(data)}, copy.deepcopy(meta))
    if not native:
        expression = Expression(expression.text, expression.program, expression.plan)
        expression.search_into = None
    ok = expression.match_into(event, line, None)
    return ok, _shape(event.data), _shape(event.metadata)


@pytest.mark.parametrize("line", LINES)
@pytest.mark.parametrize("data, meta", SHAPES)
def test_the_native_store_gives_the_plans_document(line: str, data: dict[str, Any],
                                                   meta: dict[str, Any]) -> None:
    expression = _native(ACCESS)
    assert _stored(expression, line, data, meta, native=True) == \
        _stored(expression, line, data, meta, native=False)


def test_a_target_and_a_nested_metadata_path_are_stored_like_the_plan() -> None:
    expression = _native("%{WORD:[a][b]} %{INT:[@metadata][c][d]:int} %{WORD:e}", target="[t]")
    for line in ("x 12 y", "x -3 y", "x 1"):
        assert _stored(expression, line, {}, {}, native=True) == \
            _stored(expression, line, {}, {}, native=False)


NUMBERISH = st.text(alphabet=st.sampled_from(list("0123456789+-._eE xn")), min_size=1, max_size=22)


@settings(max_examples=300, deadline=None)
@given(NUMBERISH, NUMBERISH)
def test_conversions_match_the_plans(number: str, other: str) -> None:
    """``:int`` and ``:float`` of any text the pattern lets through: Rust's own
    parse where the text is plain digits, the plan's converter otherwise."""
    expression = _native(r'%{DATA:[n][i]:int}\|%{DATA:[n][f]:float}\|')
    line = f"{number}|{other}|"
    assert _stored(expression, line, {}, {}, native=True) == \
        _stored(expression, line, {}, {}, native=False)


def test_a_lone_surrogate_is_stored_by_the_plan() -> None:
    expression = _native("%{WORD:[a][w]} %{GREEDYDATA:[a][rest]}")
    line = "GET \udcff tail"
    assert _stored(expression, line, {}, {}, native=True) == \
        _stored(expression, line, {}, {}, native=False)


def test_plans_with_two_captures_into_one_field_keep_the_python_path() -> None:
    assert Compiler().compile("%{WORD:[a][b]} %{WORD:[a][b]}").search_into is None
    assert Compiler().compile("%{WORD:a}", keep_empty_captures=True).search_into is None


def test_native_off_leaves_the_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGPIPE_NATIVE", "off")
    assert Compiler().compile(ACCESS).search_into is None


def _url_filter(*, memo: bool = True) -> GrokFilter:
    """split_url's filter; with ``memo`` its memo is on from the start (as it is for
    expressions without a native store that walks, see GrokFilter._remembers)."""
    f = GrokFilter(GrokFilter.Config(
        match={"[url][original]": r"^%{URIPATH:[url][path]}(?:\?%{GREEDYDATA:[url][query]})?$"},
        tag_on_failure=["_url_parse_failure"]), id="split_url")
    if memo:
        f._memo = ResultMemo(enabled=True)
    return f


def test_one_expression_that_stores_natively_keeps_no_memo() -> None:
    if os.environ.get("LOGPIPE_NATIVE") == "off":
        assert _url_filter(memo=False)._memo.on   # the plan stores: a hit saves the match
        return
    assert not _url_filter(memo=False)._memo.on
    two = GrokFilter(GrokFilter.Config(match={"[url][original]": ["^%{URIPATH:[url][path]}$", "%{WORD:w}"]}),
                     id="two")
    assert two._memo.on


def _url_events(urls: list[Any]) -> list[Event]:
    return [Event({"url": {"original": u}}) for u in urls]


def _docs(events: list[Event]) -> list[bytes]:
    return [orjson.dumps({k: v for k, v in e.data.items() if k != "@timestamp"}) for e in events]


def test_the_memo_gives_the_documents_of_matching_every_event() -> None:
    urls = ["/a", "/a?x=1", "/a", "no path", "/a?x=1", ["/l"], 5, "/b", "no path", "/a"] * 50
    remembering, plain = _url_filter(), _url_filter()
    plain._memo = ResultMemo(enabled=False)
    assert remembering._memo.on
    got, want = _url_events(urls), _url_events(urls)
    for i in range(0, len(urls), 100):
        remembering.process(got[i:i + 100])
        plain.process(want[i:i + 100])
    assert remembering._memo.on and remembering._memo.results
    assert _docs(got) == _docs(want)
    # No two events share the objects the plan made.
    assert got[0].data["url"] is not got[2].data["url"]


def test_the_memo_turns_off_for_values_that_do_not_repeat_and_tries_again(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memo_module, "PAUSE", 300)
    f = _url_filter()
    unique = _url_events([f"/u/{i}" for i in range(memo_module.WINDOW)])
    f.process(unique)
    assert not f._memo.on and not f._memo.results
    f.process(_url_events(["/r"] * 200))
    assert not f._memo.on
    f.process(_url_events(["/r"] * 200))
    assert f._memo.on
    repeated = _url_events(["/r", "/s"] * memo_module.WINDOW)
    f.process(repeated)
    assert f._memo.on
    assert repeated[-1].data["url"] == {"original": "/s", "path": "/s"}


def test_the_memo_waits_longer_after_each_poor_try(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memo_module, "PAUSE", 100)
    memo = ResultMemo(enabled=True)
    waits: list[int] = []
    for _ in range(3):
        memo.judge(memo_module.WINDOW, 0)
        assert not memo.on
        passed = 0
        while not memo.on:
            memo.passed(50)
            passed += 50
        waits.append(passed)
    assert waits == [100, 200, 400]
    memo.judge(memo_module.WINDOW, memo_module.WINDOW)
    memo.judge(memo_module.WINDOW, 0)
    passed = 0
    while not memo.on:
        memo.passed(50)
        passed += 50
    assert passed == 100


def test_the_memo_never_holds_more_than_its_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memo_module, "SIZE", 8)
    f = _url_filter()
    f.process(_url_events([f"/{i % 20}" for i in range(200)]))
    assert len(f._memo.results) <= 8


def test_the_memo_leaves_long_texts_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memo_module, "MAX_TEXT", 16)
    f = _url_filter()
    long_url = "/" + "a" * 40
    events = _url_events([long_url, "/short"] * 10)
    f.process(events)
    assert long_url not in f._memo.results and "/short" in f._memo.results
    plain = _url_filter()
    plain._memo = ResultMemo(enabled=False)
    expected = _url_events([long_url, "/short"] * 10)
    plain.process(expected)
    assert _docs(events) == _docs(expected)


class _Tags(list[str]):
    """A list subclass where tags go: Event.add_tag uses it as it is."""


ACTION_SHAPES: list[dict[str, Any]] = [
    {}, {"event": None}, {"event": "s"}, {"event": {"dataset": "old"}}, {"event": {"dataset": ["a"]}},
    {"event": {"dataset": None}}, {"event": {"kind": "k"}}, {"event": [1]}, {"event": {"dataset": {"o": 1}}},
    {"tags": None}, {"tags": "solo"}, {"tags": ["x", "access"]}, {"tags": _Tags(["x"])}, {"tags": 3},
    {"source": {"ip": "1.1.1.1"}, "tags": ["y"]}, {"labels": 5},
]
ACTION_OPTIONS: list[dict[str, Any]] = [
    {"add_field": {"[event][dataset]": "graphmemory.access"}, "add_tag": ["access"]},
    {"add_field": {"[labels][a][b]": 1, "[@metadata][category]": "access", "top": True}},
    {"add_tag": ["a", "b", "a"]},
    {"add_field": {"[event][dataset]": "x", "[event][kind]": 2.5}, "add_tag": ["access", "t"]},
]


def _grok_with(options: dict[str, Any], *, native: bool, batch: bool = True) -> GrokFilter:
    """The filter with two expressions on ``message``; ``native``: its native matchers
    (else the plan stores every match), ``batch``: with the single-field loop in
    Rust (``PlanBatch``), else the Python loop around the same matchers."""
    f = GrokFilter(GrokFilter.Config(match={"message": ["%{IP:[source][ip]} %{WORD:[http][method]}",
                                                        "%{WORD:[log][level]}: %{INT:[n]:int}"]},
                                     **options), id="g")
    f._memo = ResultMemo(enabled=False)
    if not native or not batch:
        f._batch = None
    if not native:
        get, exprs = f._single  # type: ignore[misc]
        f._single = (get, tuple((None, search, apply) for _, search, apply in exprs))
        f._acted = False
    return f


@pytest.mark.parametrize("batch", [True, False])
@pytest.mark.parametrize("options", ACTION_OPTIONS)
def test_the_native_matcher_applies_add_field_and_add_tag_as_the_common_actions_do(
        options: dict[str, Any], batch: bool) -> None:
    if os.environ.get("LOGPIPE_NATIVE") == "off":
        pytest.skip("the native module is switched off")
    acting, plain = _grok_with(options, native=True, batch=batch), _grok_with(options, native=False)
    assert acting._acted
    assert (acting._batch is not None) is batch
    lines = ["1.2.3.4 GET", "INFO: 12", "nothing here"]
    events: list[tuple[Event, Event]] = []
    for shape in ACTION_SHAPES:
        for meta in ({}, {"category": "x"}, {"category": ["a"]}):
            for line in lines:
                data = {"message": line, "@timestamp": "fixed", **shape}
                events.append((Event(copy.deepcopy(data), copy.deepcopy(meta)),
                               Event(copy.deepcopy(data), copy.deepcopy(meta))))
    acting.process([a for a, _ in events])
    plain.process([b for _, b in events])
    for a, b in events:
        assert (_shape(a.data), _shape(a.metadata)) == (_shape(b.data), _shape(b.metadata)), b.data
        assert type(a.data.get("tags")) is type(b.data.get("tags"))


@pytest.mark.parametrize("options", [
    {"add_field": {"a": "%{b}"}}, {"add_tag": ["%{b}"]}, {"remove_field": ["a"]}, {"remove_tag": ["t"]},
    {"add_field": {"a": ["x", "y"]}}, {"add_field": {"a": {"o": 1}}}, {"add_field": {"[tags]": "x"}},
    {"add_field": {"[a]": "x", "[a][b]": "y"}}, {"add_field": {"[@metadata]": "x"}},
])
def test_other_common_actions_stay_in_python(options: dict[str, Any]) -> None:
    assert not _grok_with(options, native=True)._acted


class _Node(dict[str, Any]):
    """A dict subclass on the way to a field: the plan's code calls its methods, so the
    native store leaves such an event to the plan."""


WALK = ("%{WORD:[a][b]} %{INT:[a][c]:int} %{WORD:[d]} (?:-|%{WORD:[e][f][g]}) "
        "%{WORD:[@metadata][m][x]}(?: %{NUMBER:[a][n]:float})?")
WALK_LINES = ["w 12 d - m", "w -3 d g m 1.5", "w 0012 d g m 7", "no match"]
held = st.one_of(st.none(), st.just("text"), st.integers(0, 2), st.just(["l"]), st.just(1.5),
                 st.just({"o": 1}))
nodes = st.recursive(held, lambda inner: st.one_of(
    st.dictionaries(st.sampled_from(["b", "c", "n", "f", "g", "o"]), inner, max_size=3),
    st.dictionaries(st.sampled_from(["b", "f"]), inner, max_size=2).map(_Node)), max_leaves=6)


@settings(max_examples=300, deadline=None)
@given(data=st.dictionaries(st.sampled_from(["a", "d", "e", "x"]), nodes, max_size=4),
       meta=st.one_of(st.just({}), st.dictionaries(st.sampled_from(["m", "y"]), nodes, max_size=2)),
       line=st.sampled_from(WALK_LINES))
def test_an_event_holding_some_of_the_fields_is_stored_like_the_plan(
        data: dict[str, Any], meta: dict[str, Any], line: str) -> None:
    """The native store's general walk (objects followed or replaced on the way, a
    value appended to a list or paired with a text) gives the plan's document, key
    order and types included, whatever the event already holds."""
    expression = _native(WALK)
    assert expression.plan.walk
    assert _stored(expression, line, data, meta, native=True) == \
        _stored(expression, line, data, meta, native=False)


def test_a_plan_that_overwrites_keeps_its_own_store() -> None:
    """``overwrite`` replaces where the general rules pair or append: no walk."""
    expression = _native("%{WORD:[a][b]} %{WORD:[c]}", overwrite=["[a][b]"])
    assert not expression.plan.walk
    for data in ({"a": {"b": "old"}}, {"c": ["x"]}, {}):
        assert _stored(expression, "x y", data, {}, native=True) == \
            _stored(expression, "x y", data, {}, native=False)


def test_split_url_stores_into_the_url_object_it_reads_from() -> None:
    """``[url][original]`` into ``[url][path]`` and ``[url][query]``: the event holds
    ``url``, which the native store now writes into itself; same documents, with the
    filter's tags, as the plan through the memo-less filter."""
    if os.environ.get("LOGPIPE_NATIVE") == "off":
        pytest.skip("the native module is switched off")
    urls = ["/a", "/a?x=1", "no path", "/b?", "/c/1?q=%20"]
    native, plain = _url_filter(), _url_filter()
    native._memo = ResultMemo(enabled=False)
    plain._memo = ResultMemo(enabled=False)
    plain._batch = None
    get, exprs = plain._single  # type: ignore[misc]
    plain._single = (get, tuple((None, search, apply) for _, search, apply in exprs))
    got, want = _url_events(urls), _url_events(urls)
    for event in got + want:
        if event.data["url"]["original"] == "/b?":
            event.data["url"]["path"] = None   # a null where a capture goes is set
        event.data["@timestamp"] = "fixed"
    native.process(got)
    plain.process(want)
    assert [_shape(e.data) for e in got] == [_shape(e.data) for e in want]
    assert got[1].data["url"] == {"original": "/a?x=1", "path": "/a", "query": "x=1"}


#: Messages of every kind the single-field loop meets: each expression's lines, a
#: line neither matches, one with a lone surrogate (the native matchers raise
#: ValueError: ``search`` answers), and values that are no text.
BATCH_MESSAGES = st.sampled_from([
    "1.2.3.4 GET", "INFO: 12", "INFO: 0012", "WARN: -3", "nothing here", "1.2.3.4 GET \ud800",
    "INFO: 1\ud800", 17, None, ["1.2.3.4 GET", "INFO: 3"], {"o": "INFO: 4"}, "",
])
BATCH_DATA = st.fixed_dictionaries({"message": BATCH_MESSAGES}, optional={
    "source": st.one_of(st.none(), st.just("s"), st.just({"ip": "9.9.9.9"}), st.just({})),
    "log": st.one_of(st.just({"level": "x"}), st.just(["l"])),
    "event": st.one_of(st.none(), st.just({"dataset": "old"}), st.just("e")),
    "tags": st.one_of(st.none(), st.just(["x"]), st.just("solo"), st.just(3)),
})


@settings(max_examples=200, deadline=None)
@given(batch=st.lists(st.tuples(BATCH_DATA, st.sampled_from([{}, {"category": "x"}])), max_size=12),
       options=st.sampled_from(ACTION_OPTIONS + [{}]), acted=st.booleans(), nested=st.booleans())
def test_the_loop_in_rust_gives_the_python_loops_documents(
        batch: list[tuple[dict[str, Any], dict[str, Any]]], options: dict[str, Any], acted: bool,
        nested: bool) -> None:
    """``PlanBatch`` (the single-field loop in Rust) against the Python loop around
    the same native matchers and against the plan alone: the same documents, key
    order and types included, and the same number of failures, for a batch of any
    mix of events; with the matchers applying the actions or not, on a top-level
    field or a nested one."""
    if os.environ.get("LOGPIPE_NATIVE") == "off":
        pytest.skip("the native module is switched off")
    field = "[m][text]" if nested else "message"

    def make(native: bool, in_rust: bool) -> GrokFilter:
        f = GrokFilter(GrokFilter.Config(match={field: ["%{IP:[source][ip]} %{WORD:[http][method]}",
                                                        "%{WORD:[log][level]}: %{INT:[n]:int}"]},
                                         tag_on_failure=["_failed"], **options), id="g")
        f._memo = ResultMemo(enabled=False)
        if not acted and f._acted:
            get, exprs = f._single  # type: ignore[misc]
            f._single = (get, tuple((e.search_into, e.program.search, e.plan.apply)
                                    for e in f._fields[0][2]))
            f._acted = False
            f._batch = f._native_batch()
        if not in_rust:
            f._batch = None
        if not native:
            get, exprs = f._single  # type: ignore[misc]
            f._single = (get, tuple((None, search, apply) for _, search, apply in exprs))
            f._acted = False
            f._batch = None
        return f

    def events() -> list[Event]:
        out = []
        for data, meta in batch:
            data = copy.deepcopy(data)
            if nested:
                data = {"m": {"text": data.pop("message")}, **data}
            out.append(Event({**data, "@timestamp": "fixed"}, copy.deepcopy(meta)))
        return out

    rust, loop, plan = make(True, True), make(True, False), make(False, False)
    assert rust._batch is not None and loop._batch is None
    results = []
    for f in (rust, loop, plan):
        failed: list[int] = []
        f._failure_metrics.add = failed.append  # type: ignore[method-assign]
        got = f.process(events())
        results.append(([(_shape(e.data), _shape(e.metadata)) for e in got], failed))
    assert results[0] == results[1] == results[2]
