"""Speed classes and SLO budgets from response times."""
from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from logpipe.core.event import Event
from logpipe.filters.perfclass import PerfClassFilter, to_nanoseconds


def make(**settings: Any) -> PerfClassFilter:
    return PerfClassFilter(PerfClassFilter.Config(**settings), id="perf")


def request(duration: Any, path: str | None = "/", method: str = "GET", field: str = "event.duration",
            **extra: Any) -> Event:
    event = Event({})
    event.set(field, duration)
    if path is not None:
        event.set("url.path", path)
    event.set("http.request.method", method)
    for key, value in extra.items():
        event.set(key.replace("__", "."), value)
    return event


def one(f: PerfClassFilter, event: Event) -> Event:
    [out] = f.process([event])
    return out


@pytest.mark.parametrize("value, unit, ns", [
    (1500, "ns", 1500), (250, "us", 250_000), (12.5, "ms", 12_500_000), ("0.123", "s", 123_000_000),
    (2, "s", 2_000_000_000), ("7", "ms", 7_000_000),
])
def test_units_become_integer_nanoseconds(value: Any, unit: str, ns: int) -> None:
    assert to_nanoseconds(value, unit) == ns
    out = one(make(source="d", unit=unit), request(value, field="d", path=None))
    assert out.get("event.duration") == ns and type(out.get("event.duration")) is int


@pytest.mark.parametrize("ms, expected", [(0, "fast"), (99.9, "fast"), (100, "normal"), (499, "normal"),
                                          (500, "slow"), (1999, "slow"), (2000, "critical"),
                                          (60000, "critical")])
def test_default_classes_off_any_route(ms: float, expected: str) -> None:
    out = one(make(source="duration_ms", unit="ms"), request(ms, path="/healthz", field="duration_ms"))
    assert out.get("performance.class") == expected
    # no route and no default budget: no SLO verdict
    assert out.get("performance.budget_ms") is None and out.get("performance.slo_breach") is None


@pytest.mark.parametrize("method, path, seconds, budget, breach, cls, route", [
    ("POST", "/api/memories", "4.0", 5000, False, "slow", "memory_create"),
    ("POST", "/api/memory/123/links", "5.2", 5000, True, "critical", "memory_create"),
    ("GET", "/api/memories/123", "4.0", 2000, True, "critical", "api"),  # reads are plain API calls
    ("GET", "/api/search", "2.5", 3000, False, "slow", "search"),
    ("GET", "/search", "3.5", 3000, True, "critical", "search"),
    ("GET", "/api/graph/nodes", "0.05", 2000, False, "fast", "api"),
    ("GET", "/api/graph/nodes", "2.01", 2000, True, "critical", "api"),
])
def test_graphmemory_slo_budgets(method: str, path: str, seconds: str, budget: int, breach: bool,
                                 cls: str, route: str) -> None:
    f = make(source="nginx.request_time", unit="s")
    out = one(f, request(seconds, path=path, method=method, field="nginx.request_time"))
    assert out.get("performance.budget_ms") == budget
    assert out.get("performance.slo_breach") is breach
    assert out.get("performance.class") == cls
    assert out.get("performance.route") == route


def test_path_from_url_original_without_query() -> None:
    f = make()
    event = Event({"event": {"duration": 3_500_000_000}, "url": {"original": "/search?q=x"}})
    out = one(f, event)
    assert out.get("performance.route") == "search" and out.get("performance.slo_breach") is True


def test_regex_routes_thresholds_and_default_budget() -> None:
    f = make(unit="ms", routes=[{"match": "/^/internal/.*/report$/", "budget_ms": 10000,
                                 "thresholds": {"fast_ms": 1000, "normal_ms": 5000, "slow_ms": 10000}}],
             budget_ms=250, tag_on_breach=["slo_breach"])
    report = one(f, request(3000, path="/internal/x/report"))
    assert report.get("performance.class") == "normal"
    assert report.get("performance.budget_ms") == 10000 and report.get("performance.slo_breach") is False
    other = one(f, request(300, path="/internal/x/report.csv"))
    assert other.get("performance.budget_ms") == 250 and other.get("performance.slo_breach") is True
    assert other.tags == ["slo_breach"]


def test_first_matching_route_wins_and_method_filters() -> None:
    f = make(unit="ms", routes=[{"name": "writes", "match": ["/api/*"], "method": "post", "budget_ms": 50},
                                {"name": "all", "match": "/api/*", "budget_ms": 500}])
    assert one(f, request(100, path="/api/x", method="POST")).get("performance.route") == "writes"
    assert one(f, request(100, path="/api/x", method="GET")).get("performance.route") == "all"


def test_sources_are_tried_in_order() -> None:
    f = make(sources=[{"field": "nginx.request_time", "unit": "s"}, {"field": "duration_ms", "unit": "ms"}])
    nginx = one(f, request("0.2", field="nginx.request_time", duration_ms=999))
    app = one(f, request(40, field="duration_ms"))
    assert nginx.get("event.duration") == 200_000_000
    assert app.get("event.duration") == 40_000_000 and app.get("performance.class") == "fast"


def test_missing_duration_leaves_event_alone() -> None:
    event = Event({"url": {"path": "/api/x"}})
    before = dict(event.data)
    assert one(make(), event).data == before


@pytest.mark.parametrize("bad", ["-", "0.1, 0.2", "", "abc", True, [1], {"a": 1}, -5, float("nan"),
                                 float("inf"), "inf", 1e300, "1e300"])
def test_invalid_duration_is_tagged_and_untouched(bad: Any) -> None:
    out = one(make(source="d", unit="s"), request(bad, field="d"))
    assert out.tags == ["_perfclass_invalid_duration"]
    assert out.get("performance") is None and out.get("event.duration") is None


def test_existing_performance_object_is_kept() -> None:
    out = one(make(unit="ms"), request(10, path="/x", performance={"node": "a"}))
    assert out.get("performance") == {"node": "a", "class": "fast"}


def test_thresholds_must_increase() -> None:
    with pytest.raises(ValidationError):
        PerfClassFilter.Config(thresholds={"fast_ms": 500, "normal_ms": 100, "slow_ms": 2000})
    with pytest.raises(ValidationError):
        PerfClassFilter.Config(unit="minutes")


DURATIONS = [0, 1, 7, 2**70, -1, 0.0, -0.0, 0.1234567, 1e200, 1e300, "1e300", float("inf"), float("nan"), -2.5,
             True, False, "12", " 3.5 ", "-1", "nan", "x", None, [1], {"a": 1}]


@pytest.mark.parametrize("unit", ["ns", "us", "ms", "s"])
def test_every_duration_is_read_as_to_nanoseconds_reads_it(unit: str) -> None:
    """Integers and finite floats take a short way through the filter; every value
    must still get what to_nanoseconds gives (or the failure tag)."""
    f = make(source="d", unit=unit)
    for value in DURATIONS:
        out = one(f, request(value, field="d", path=None))
        expected = to_nanoseconds(value, unit) if value is not None else None
        if expected is None and value is not None:
            assert out.tags == ["_perfclass_invalid_duration"] and out.get("event.duration") is None, value
        else:
            assert out.get("event.duration") == expected and type(out.get("event.duration")) is \
                type(expected), value


def test_a_batch_gives_each_event_what_it_gets_alone() -> None:
    """Route decisions are remembered by path and method across events and batches."""
    settings = {"source": "[@metadata][request_time]", "unit": "s"}
    f = make(**settings)
    shapes = [("POST", "/api/memories", "4.0"), ("GET", "/api/memories/1", "4.0"),
              ("POST", "/api/memories", "6"), ("GET", "/healthz", "0.01"), ("get", "/api/search", "2.5"),
              ("GET", None, "1.0"), ("GET", "/api/memories/1?x=1", "0.5")]

    def events() -> list[Event]:
        out = []
        for method, path, seconds in shapes * 3:
            event = Event({"@timestamp": 0})
            event.set("[@metadata][request_time]", seconds)
            if path is not None:
                event.set("[url][original]", path)
            event.set("[http][request][method]", method)
            out.append(event)
        return out
    batch = [(e.data, e.tags) for e in f.process(events())]
    alone = [(e.data, e.tags) for e in (one(make(**settings), e) for e in events())]
    assert batch == alone
    assert {d["performance"].get("route") for d, _ in batch} == {"memory_create", "api", "search", None}


# ``url`` is read once for the path and url.original when the path field is ``url.<key>``,
# and two-key sources and targets are read and written inline; whatever shape the events
# have, the answers are those of the general readers and writers.
_URLS = st.one_of(
    st.none(), st.just("/api/search"), st.just(["/api/x"]), st.just(5),
    st.fixed_dictionaries({}, optional={
        "path": st.one_of(st.sampled_from(["/api/memories", "/api/memory/7?x=1", "/search?q", "/",
                                           "/api/graph/nodes", "?"]), st.none(), st.just(3),
                          st.just({"a": 1})),
        "original": st.one_of(st.sampled_from(["/api/search?q=1", "/x", "/api/memories/9"]),
                              st.none(), st.just(["/api"]))}),
)
_SECONDS = st.sampled_from([0.01, 2.5, 6, "0.3", -1, None, 7_000_000_000])
_EVENT_FIELD = st.one_of(st.none(), st.just("x"), st.just([1]),
                         st.fixed_dictionaries({}, optional={"duration": _SECONDS, "kind": st.just("k")}))


@settings(max_examples=300, deadline=None)
@given(requests=st.lists(st.tuples(_URLS, st.sampled_from(["GET", "POST", None]), _SECONDS,
                                   _EVENT_FIELD),
                         min_size=1, max_size=6),
       path_field=st.sampled_from(["url.path", "url.original", "[request][path]"]),
       target=st.sampled_from(["event.duration", "[@metadata][duration]", "took", "[a][b][c]"]))
def test_inline_reads_and_writes_answer_as_the_general_ones(requests: list[Any], path_field: str,
                                                            target: str) -> None:
    def events() -> list[Event]:
        out = []
        for url, method, seconds, event_field in requests:
            data: dict[str, Any] = {"@timestamp": 0, "http": {"request": {"method": method}},
                                    "request": {"path": "/api/search"}}
            if url is not None:
                data["url"] = copy.deepcopy(url)
            if event_field is not None:
                data["event"] = copy.deepcopy(event_field)
            out.append(Event(data, {} if seconds is None else {"request_time": seconds}))
        return out

    settings_ = {"sources": [{"field": "[@metadata][request_time]", "unit": "s"},
                             {"field": "[event][duration]", "unit": "ns"}],
                 "path_field": path_field, "target": target}
    fused, general = make(**settings_), make(**settings_)
    # every event through the general readers and writers, no memo
    assert ([(e.data, e.metadata) for e in fused.process(events())]
            == [(e.data, e.metadata) for e in general.process_each(events())])
    # and again, the answers now remembered
    assert ([(e.data, e.metadata) for e in fused.process(events())]
            == [(e.data, e.metadata) for e in general.process_each(events())])


_ROUTE_SETS = st.lists(st.fixed_dictionaries(
    {"match": st.lists(st.sampled_from(["/api/*", "/api/memories*", "/search*", "/x", "/^/api/v[0-9]/",
                                         "*mem*", "/a?i/*"]), min_size=1, max_size=2)},
    optional={"method": st.sampled_from([["POST"], ["get", "PUT"], []]),
              "budget_ms": st.sampled_from([1, 250, 5000]), "name": st.sampled_from(["a", "b"]),
              "thresholds": st.just({"fast_ms": 1, "normal_ms": 300, "slow_ms": 4000})}),
    max_size=4)


@settings(max_examples=300, deadline=None)
@given(routes=_ROUTE_SETS, budget=st.sampled_from([None, 100, 2000.5]),
       tag_on_breach=st.sampled_from([[], ["over"]]),
       requests=st.lists(st.tuples(
           st.sampled_from(["/api/memories/1", "/api/memories", "/api/v2/x?y=1", "/search?q=1", "/x",
                            "/apix", "/aPi/1", "/api/memory", "/", "/api/memories/1?a"]),
           st.sampled_from(["GET", "POST", "post", "PUT", None, 7]),
           st.sampled_from([0.0, 0.0009, 0.1, 0.25, 0.3, 1.0, 2.0005, 3.9999, 4.0, 5.0, 1e9, 3])),
           min_size=1, max_size=12))
def test_remembered_outcomes_answer_as_each_request_decided_alone(
        routes: list[Any], budget: Any, tag_on_breach: list[str], requests: list[Any]) -> None:
    """The memo by path as written (its table by method only for paths a method-bound
    route covers) and the prepared ``performance`` objects give what deciding each
    request afresh gives, at every class and budget boundary."""
    def events() -> list[Event]:
        return [Event({"@timestamp": 0, "url": {"path": path}, "http": {"request": {"method": method}}},
                      {"request_time": seconds}) for path, method, seconds in requests]
    settings_: dict[str, Any] = {"sources": [{"field": "[@metadata][request_time]", "unit": "s"}],
                                 "routes": routes, "budget_ms": budget, "tag_on_breach": tag_on_breach}
    fused, general = make(**settings_), make(**settings_)
    expected = [e.data for e in general.process_each(events())]
    assert [e.data for e in fused.process(events())] == expected
    assert [e.data for e in fused.process(events())] == expected   # from the memo
    # the objects are the event's own: editing one changes no other, nor the next answers
    batch = fused.process(events())
    for event in batch:
        event.data["performance"]["class"] = "edited"
    assert [e.data for e in fused.process(events())] == expected


def test_the_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from logpipe.filters.perfclass import filter as module
    monkeypatch.setattr(module, "_VERDICTS", 8)
    monkeypatch.setattr(module, "_METHODS", 2)
    f, general = make(source="d", unit="ms"), make(source="d", unit="ms")
    def events() -> list[Event]:
        return [Event({"@timestamp": 0, "d": 3000, "url": {"path": f"/api/memories/{i % 13}"},
                       "http": {"request": {"method": ("POST", "GET", "put")[i % 3]}}}) for i in range(60)]
    assert [e.data for e in f.process(events())] == [e.data for e in general.process_each(events())]
    assert len(f._memo) <= 8
    assert all(len(table) <= 2 for table in f._memo.values() if isinstance(table, dict))


# Routes whose globs are text with at most a trailing ``*`` are decided by substring tests;
# they must answer what the patterns' regexes (searched in the path) answer.
_GLOBS = st.one_of(
    st.text(alphabet="/api.x\n*?[]", max_size=6),
    st.sampled_from(["/api/*", "/api/memories*", "*", "", "/x", "/api/", "/^/api/", "/a.i/", "/a*/",
                     "/api/v?/*", "/[ab]pi*", "a\n*"]),
)


def _regex_route(routes: list[Any], path: str, method: str | None) -> Any:
    """The table's answer as its regexes alone give it."""
    import re

    from logpipe.filters.perfclass.routes import _pattern
    upper = method.upper() if method else None
    for route in routes:
        if route.method and upper not in {m.upper() for m in route.method}:
            continue
        if re.compile("|".join(f"(?:{_pattern(p).pattern})" for p in route.match)).search(path):
            return route
    return None


@settings(max_examples=300, deadline=None)
@given(patterns=st.lists(st.lists(_GLOBS, min_size=1, max_size=3), min_size=1, max_size=3),
       methods=st.lists(st.sampled_from([None, ["POST"], ["get", "PUT"]]), min_size=3, max_size=3),
       paths=st.lists(st.text(alphabet="/api.xv1\nmeors", max_size=14), min_size=1, max_size=8),
       method=st.sampled_from(["GET", "post", None, "PUT"]))
def test_literal_globs_answer_as_their_regexes(patterns: list[list[str]], methods: list[Any],
                                               paths: list[str], method: str | None) -> None:
    from logpipe.errors import ConfigError
    from logpipe.filters.perfclass.config import Route
    from logpipe.filters.perfclass.routes import RouteTable
    routes = [Route.model_validate({"name": f"r{i}", "match": match, "method": methods[i]})
              for i, match in enumerate(patterns)]
    try:
        table = RouteTable(routes)
    except ConfigError:
        return   # a pattern that is no valid regex: refused either way
    for path in paths:
        assert table.match(path, method) is _regex_route(routes, path, method)
        # a path said to be decided whatever the method is decided so for every method
        free = table.path_index(path)
        answers = {table.index(path, m) for m in ("GET", "post", "PUT", None, "delete")}
        if free is not None:
            assert answers == {free}


@settings(max_examples=200, deadline=None)
@given(sources=st.lists(st.sampled_from([
           ("[@metadata][request_time]", "s"), ("[event][duration]", "ns"), ("took", "ms"),
           ("[a][b][c]", "us"), ("[@metadata][a][b]", "ms")]), min_size=1, max_size=4, unique=True),
       values=st.lists(st.fixed_dictionaries({}, optional={
           "request_time": _SECONDS, "event": _EVENT_FIELD, "took": _SECONDS,
           "a": st.one_of(st.just(5), st.fixed_dictionaries({}, optional={"b": st.one_of(
               st.just("x"), st.fixed_dictionaries({}, optional={"c": _SECONDS}))})),
           "meta_a": st.fixed_dictionaries({}, optional={"b": _SECONDS})}), min_size=1, max_size=6))
def test_the_loop_written_for_the_sources_reads_them_as_the_general_readers(
        sources: list[tuple[str, str]], values: list[dict[str, Any]]) -> None:
    """The batch loop is written out for the filter's sources (one to several, of every
    shape, tried in order); it answers what the general readers answer, event by event."""
    def events() -> list[Event]:
        out = []
        for v in values:
            data: dict[str, Any] = {"@timestamp": 0, "url": {"path": "/api/search"}}
            meta: dict[str, Any] = {}
            for key, value in copy.deepcopy(v).items():
                if key == "request_time":
                    meta[key] = value
                elif key == "meta_a":
                    meta["a"] = value
                else:
                    data[key] = value
            out.append(Event(data, meta))
        return out
    settings_ = {"sources": [{"field": f, "unit": u} for f, u in sources], "tag_on_failure": ["bad"]}
    fused, general = make(**settings_), make(**settings_)
    assert ([(e.data, e.metadata) for e in fused.process(events())]
            == [(e.data, e.metadata) for e in general.process_each(events())])
