"""The perfclass filter's native batch call (native/src/perfclass.rs) against its
Python loop and :meth:`PerfClassFilter.process_each`.

The native call handles the events whose every step takes the loop's common
branch and stops at any other; whatever the events hold, a batch must come out
as the loop and the general path leave it: the same fields in the same order,
the same tags, the ``performance`` object shared or copied as the loop does it,
and the memo filled the same way.
"""
from __future__ import annotations

import copy
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logpipe.core.event import Event
from logpipe.core.native import native_module
from logpipe.filters.perfclass import PerfClassFilter
from logpipe.filters.perfclass import filter as perfclass_module

pytestmark = pytest.mark.skipif(
    native_module() is None or not hasattr(native_module(), "PerfBatch"),
    reason="the native module is not built")


class OtherEvent(Event):
    """An event class the native call leaves to the loop (its slots may lie elsewhere)."""

    __slots__ = ("extra",)


def make(**settings_: Any) -> PerfClassFilter:
    return PerfClassFilter(PerfClassFilter.Config(**settings_), id="perf")


def shape(value: Any) -> Any:
    """A value with every dict's key order made visible (``==`` on dicts ignores it)."""
    if type(value) is dict:
        return ("dict", [(k, shape(v)) for k, v in value.items()])
    if isinstance(value, dict):
        return (type(value).__name__, [(k, shape(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [shape(v) for v in value])
    if isinstance(value, float) and math.isnan(value):
        return ("nan",)
    return (type(value).__name__, value)


def outcome(f: PerfClassFilter, event: Event) -> tuple[Any, ...]:
    """What an event ends with, and whether its ``performance`` object is one of the
    filter's own (shared) objects."""
    perf = event.data.get("performance")
    own = any(perf is p for o in f._outcomes for p in o[5])
    return shape(event.data), shape(event.metadata), own


def memo_shape(f: PerfClassFilter) -> list[Any]:
    return [(path, shape(entry) if isinstance(entry, dict) else f._outcomes.index(entry))
            for path, entry in f._memo.items()]


class Perf(dict):  # type: ignore[type-arg]
    """A dict subclass in place of a ``performance`` object or a field's parent."""


_NUMBERS = st.sampled_from([0, 0.0, -0.0, 1, 3, 2.5e-7, 0.0009, 0.1, 0.2, 0.25, 0.3, 0.5000000001, 1.0, 2.0005,
                            3.9999, 4.0, 5.0, 7_000_000_000, 1e9, 0.5, 1.5, 2.5, 2**53, 2**53 + 1, 2**63,
                            9_007_199.254740993, 1e300, -1, -0.5, math.inf, math.nan, True, False])
_DURATIONS = st.one_of(_NUMBERS, st.sampled_from(["0.3", "abc", "", None, [1], {"a": 1}]))
_PATHS = st.sampled_from(["/api/memories", "/api/memories/7?x=1", "/api/memory/1", "/api/search?q=1",
                          "/search", "/", "/x", "/api/graph/nodes", "?", "/api/v2/x", "/\u00e9t\u00e9",
                          "/api/\ud800"])
_URLS = st.one_of(
    st.none(), st.just("absent"), _PATHS, st.just(["/api/x"]), st.just(5),
    st.fixed_dictionaries({}, optional={
        "path": st.one_of(_PATHS, st.none(), st.just(3), st.just({"a": 1})),
        "original": st.one_of(_PATHS, st.none(), st.just(["/api"])),
        "domain": st.just("example.org")}),
    st.builds(lambda p: Perf(path=p), _PATHS))
_METHODS = st.sampled_from(["GET", "POST", "post", "PUT", "p\u00f6st", "", None, 7, "absent"])
_HTTP = st.one_of(
    st.just("absent"), st.none(), st.just("http"), st.just([1]),
    st.builds(lambda m: {"request": {"method": m}} if m != "absent" else {"request": {}}, _METHODS),
    st.just({"request": None}), st.just({"request": "r"}), st.just({}),
    st.builds(lambda m: {"request": Perf(method=m)}, _METHODS))
_EVENT = st.one_of(
    st.just("absent"), st.none(), st.just("x"), st.just([1]),
    st.fixed_dictionaries({}, optional={"duration": _DURATIONS, "kind": st.just("k")}),
    st.builds(lambda d: Perf(duration=d), _DURATIONS))
_PERF = st.one_of(st.just("absent"), st.none(), st.just("fast"),
                  st.just({"class": "x", "extra": 1}), st.just({}), st.builds(Perf))
_EVENTS = st.lists(st.fixed_dictionaries({
    "seconds": st.one_of(st.just("absent"), _DURATIONS),
    "url": _URLS, "http": _HTTP, "event": _EVENT, "performance": _PERF,
    "other_class": st.sampled_from([False, False, False, True]),
    "meta": st.sampled_from(["dict", "dict", "dict", "subclass"]),
    "tags": st.sampled_from([None, ["a"]])}), min_size=1, max_size=12)


def build(specs: list[dict[str, Any]]) -> list[Event]:
    """Fresh events from their descriptions (keys at fixed places, so their order varies
    only through what the filter writes)."""
    out = []
    for spec in specs:
        data: dict[str, Any] = {"@timestamp": 0, "message": "m"}
        for key in ("event", "url", "http", "performance"):
            if spec[key] != "absent":
                data[key] = copy.deepcopy(spec[key])
        if spec["tags"] is not None:
            data["tags"] = list(spec["tags"])
        meta: dict[str, Any] = {} if spec["seconds"] == "absent" else {"request_time": copy.deepcopy(spec["seconds"])}
        event = (OtherEvent if spec["other_class"] else Event)(data, Perf(meta) if spec["meta"] == "subclass" else meta)
        out.append(event)
    return out


_ROUTES = st.sampled_from([
    None,   # GraphMemory's routes (one bound to POST)
    [],
    [{"name": "reg", "match": ["/^/api/v[0-9]/"], "budget_ms": 250},
     {"name": "m", "match": ["/api/memor*"], "method": ["post", "PUT"], "budget_ms": 1},
     {"match": ["*"], "thresholds": {"fast_ms": 1, "normal_ms": 300, "slow_ms": 4000}}],
    [{"name": "all", "match": ["/*"], "method": ["GET"], "budget_ms": 5000.5}],
])


def settings_for(routes: Any, budget: Any, tag_on_breach: list[str], target: str, path_field: str,
                 method_field: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "sources": [{"field": "[@metadata][request_time]", "unit": "s"},
                    {"field": "[event][duration]", "unit": "ns"},
                    {"field": "[event][kind][x]", "unit": "ms"}],
        "budget_ms": budget, "tag_on_breach": tag_on_breach, "target": target,
        "path_field": path_field, "method_field": method_field}
    if routes is not None:
        out["routes"] = routes
    return out


def three_ways(settings_: dict[str, Any], specs: list[dict[str, Any]], share: bool, rounds: int = 2) -> None:
    """The native call, the Python loop and process_each give the same events, round
    after round (the memo filled by the first), and the two memos the same entries."""
    native, loop, general = make(**settings_), make(**settings_), make(**settings_)
    assert native._native is not None
    loop._native = None
    for f in (native, loop, general):
        f.share_memo = share
    for _ in range(rounds):
        expected = [outcome(general, e) for e in general.process_each(build(specs))]
        by_loop = [outcome(loop, e) for e in loop.process(build(specs))]
        by_native = [outcome(native, e) for e in native.process(build(specs))]
        # process_each copies nothing shared: compare the documents, then sharing apart
        assert [o[:2] for o in by_loop] == [o[:2] for o in expected]
        assert by_native == by_loop
        assert memo_shape(native) == memo_shape(loop)


@settings(max_examples=400, deadline=None)
@given(specs=_EVENTS, share=st.booleans(), routes=_ROUTES,
       budget=st.sampled_from([None, 100, 2000.5, 2**60]),
       tag_on_breach=st.sampled_from([[], ["over"]]),
       target=st.sampled_from(["event.duration", "[metrics][took]"]),
       path_field=st.sampled_from(["url.path", "url.original"]),
       method_field=st.sampled_from(["http.request.method", "[http][method]"]))
def test_native_batches_answer_as_the_loop_and_the_general_path(
        specs: list[dict[str, Any]], share: bool, routes: Any, budget: Any, tag_on_breach: list[str],
        target: str, path_field: str, method_field: str) -> None:
    three_ways(settings_for(routes, budget, tag_on_breach, target, path_field, method_field), specs, share)


@settings(max_examples=150, deadline=None)
@given(specs=_EVENTS, share=st.booleans(), routes=_ROUTES)
def test_a_tiny_memo_is_emptied_as_the_loop_empties_it(
        specs: list[dict[str, Any]], share: bool, routes: Any) -> None:
    """Misses remembered from the native call go through the filter's own code: the
    memo is emptied at the same events, and each table by method too."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(perfclass_module, "_VERDICTS", 2)
        mp.setattr(perfclass_module, "_METHODS", 1)
        three_ways(settings_for(routes, None, [], "event.duration", "url.path", "http.request.method"),
                   specs * 2, share, rounds=3)


#: GraphMemory's sources: nginx's request time in the metadata, else the event's own.
GRAPHMEMORY = {"sources": [{"field": "[@metadata][request_time]", "unit": "s"},
                           {"field": "[event][duration]", "unit": "ns"}]}


def common(i: int) -> Event:
    return Event({"@timestamp": 0, "url": {"path": f"/api/memories/{i % 5}?q={i}"},
                  "http": {"request": {"method": ("GET", "POST")[i % 2]}}, "event": {"kind": "event"}},
                 {"request_time": 0.001 * i})


def test_the_common_case_is_handled_natively() -> None:
    """Plain events, their answers remembered or not: no event reaches the Python loop,
    and each gets what the loop gives it."""
    f, loop = make(**GRAPHMEMORY), make(**GRAPHMEMORY)
    loop._native = None
    f.share_memo = loop.share_memo = True
    assert f._native is not None and f._native.reads_slots()
    seen: list[Event] = []
    python_loop = f._loop
    f._loop = lambda self, events: (seen.extend(events), python_loop(self, events))[1]  # type: ignore[assignment]
    for _ in range(2):
        got = [outcome(f, e) for e in f.process([common(i) for i in range(200)])]
        assert got == [outcome(loop, e) for e in loop.process([common(i) for i in range(200)])]
    assert seen == []
    assert all(own for _, _, own in got)


@pytest.mark.parametrize("target", ["url.duration", "performance.duration", "http.took", "took",
                                    "[@metadata][duration]", "[a][b][c]"])
def test_targets_that_could_change_what_is_read_keep_the_loop(target: str) -> None:
    assert make(target=target)._native is None


@pytest.mark.parametrize("path_field", ["[request][path]", "path", "[url][a][b]"])
def test_other_path_fields_keep_the_loop(path_field: str) -> None:
    assert make(path_field=path_field)._native is None


def test_without_the_native_module(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGPIPE_NATIVE", "off")
    f, general = make(**GRAPHMEMORY), make(**GRAPHMEMORY)
    assert f._native is None
    assert ([shape(e.data) for e in f.process([common(i) for i in range(20)])]
            == [shape(e.data) for e in general.process_each([common(i) for i in range(20)])])


def test_a_failure_of_the_memo_leaves_the_duration_written_as_the_loop_does(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The loop writes the duration before it asks the memo; an error there (none is
    expected) leaves each event as the loop would have left it. (A regex route: the
    filter's own ``_remember`` is called.)"""
    def broken(self: PerfClassFilter, raw_path: str) -> Any:
        raise RuntimeError("memo")
    monkeypatch.setattr(PerfClassFilter, "_remember", broken)
    results = []
    for native in (True, False):
        f = make(**GRAPHMEMORY, routes=[{"match": ["/^/api/"]}])
        if not native:
            f._native = None
        events = [common(i) for i in range(3)]
        with pytest.raises(RuntimeError):
            f.process(events)
        results.append([shape(e.data) for e in events])
    assert results[0] == results[1]
    assert dict(results[0][0][1])["event"] == shape({"kind": "event", "duration": 0})


_TIES = [0.5, 1.5, 2.5, 3.5, 4503599627370495.5, 2.5e-9, 0.0000000015, 1.0000000005, 2**53 - 0.5]


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.one_of(
           st.floats(min_value=-1.0), st.floats(), st.sampled_from(_TIES),
           st.integers(min_value=-(2**64), max_value=2**64), st.sampled_from([2**53, 2**53 + 1, 2**63 - 1])),
           min_size=1, max_size=10),
       unit=st.sampled_from(["ns", "us", "ms", "s"]), in_metadata=st.booleans(), share=st.booleans())
def test_durations_convert_as_the_loop_converts_them(values: list[Any], unit: str, in_metadata: bool,
                                                     share: bool) -> None:
    """Every number, at every unit: the same nanoseconds (ties to even, as ``round``),
    the same class at the bounds, the same tag for what is no duration."""
    field = "[@metadata][took]" if in_metadata else "[event][took]"
    specs = []
    for value in values:
        data: dict[str, Any] = {"@timestamp": 0, "url": {"path": "/api/search"}}
        meta: dict[str, Any] = {}
        (meta if in_metadata else data.setdefault("event", {}))["took"] = value
        specs.append((data, meta))
    settings_ = {"sources": [{"field": field, "unit": unit}]}
    native, loop = make(**settings_), make(**settings_)
    loop._native = None
    native.share_memo = loop.share_memo = share
    got = native.process([Event(copy.deepcopy(d), copy.deepcopy(m)) for d, m in specs])
    want = loop.process([Event(copy.deepcopy(d), copy.deepcopy(m)) for d, m in specs])
    assert [outcome(native, e) for e in got] == [outcome(loop, e) for e in want]


@settings(max_examples=300, deadline=None)
@given(routes=_ROUTES, share=st.booleans(), tag_on_breach=st.sampled_from([[], ["over"]]),
       requests=st.lists(st.tuples(
           st.sampled_from(["/api/memories/1", "/api/memories", "/api/v2/x?y=1", "/search?q=1", "/x",
                            "/api/memory", "/", "/api/memories/1?a"]),
           _METHODS,
           st.sampled_from([0.0, 0.0009, 0.1, 0.25, 0.3, 1.0, 2.0005, 3.9999, 4.0, 5.0, 1e9, 3])),
           min_size=1, max_size=16))
def test_plain_requests_answer_as_the_loop(routes: Any, share: bool, tag_on_breach: list[str],
                                            requests: list[Any]) -> None:
    """Events of the usual shape, on routes bound to methods or not: every method the
    loop reads (a text, absent, None, another type), every class and budget boundary."""
    specs = [{"seconds": seconds, "url": {"path": path},
              "http": {"request": {"method": method}} if method != "absent" else {"request": {}},
              "event": {"kind": "k"}, "performance": "absent", "other_class": False, "meta": "dict",
              "tags": None} for path, method, seconds in requests]
    three_ways(settings_for(routes, None, tag_on_breach, "event.duration", "url.path", "http.request.method"),
               specs, share)


def test_the_bounded_memo_empties_at_the_same_events(monkeypatch: pytest.MonkeyPatch) -> None:
    """New paths and methods remembered by the native call fill and empty the memo and
    its tables by method exactly where the loop does."""
    monkeypatch.setattr(perfclass_module, "_VERDICTS", 8)
    monkeypatch.setattr(perfclass_module, "_METHODS", 2)

    def events() -> list[Event]:
        return [Event({"@timestamp": 0, "url": {"path": f"/api/memories/{i % 13}"},
                       "http": {"request": {"method": ("POST", "GET", "put", "")[i % 4]}}},
                      {"request_time": 0.37 * i}) for i in range(90)]
    native, loop = make(**GRAPHMEMORY), make(**GRAPHMEMORY)
    loop._native = None
    for n in (1, 7, 90):
        assert ([outcome(native, e) for e in native.process(events()[:n])]
                == [outcome(loop, e) for e in loop.process(events()[:n])])
        assert memo_shape(native) == memo_shape(loop)
    assert len(native._memo) <= 8
