"""The quick paths of mutate's ``gsub`` and of ``add_field`` answer what the general ones do.

A ``gsub`` with a fixed field, pattern and replacement remembers the substitution of each
distinct text (bounded: two generations, the older dropped when the newer fills); ``add_field`` of one constant over a batch
writes without a call per event, and a one-key path takes no walk. Random values and
event shapes (lists, scalars and dict subclasses in the way, existing values of every
kind) must come out exactly as through the general code.
"""
from __future__ import annotations

import copy
from collections import OrderedDict
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logpipe.core.event import Event
from logpipe.core.fieldref import parse
from logpipe.filters import mutate as mutate_module
from logpipe.filters.common import _add_value, _adder, _batch_adder
from logpipe.filters.mutate import MutateConfig, MutateFilter, _Gsub

texts = st.text(alphabet="ab01/-:\n", max_size=8)
field_values = st.one_of(st.none(), texts, st.integers(0, 3), st.lists(st.one_of(texts, st.none()), max_size=3),
                         st.dictionaries(st.sampled_from(["route", "x"]), texts, max_size=2))
holders = st.one_of(st.none(), texts, st.lists(texts, max_size=2),
                    st.dictionaries(st.sampled_from(["route", "x"]), field_values, max_size=2),
                    st.dictionaries(st.sampled_from(["route"]), field_values, max_size=1).map(OrderedDict))


def _events(shapes: list[Any]) -> list[Event]:
    return [Event({"@timestamp": 0} if s is None else {"@timestamp": 0, "http": copy.deepcopy(s)})
            for s in shapes]


@pytest.mark.parametrize("pattern, replacement", [("[0-9]+", ":id"), ("^/", ""), ("(a)(b)?", "\\2\\1"),
                                                  ("x*", "-")])
@settings(max_examples=100, deadline=None)
@given(shapes=st.lists(holders, min_size=1, max_size=8))
def test_remembered_gsub_gives_the_general_answer(pattern: str, replacement: str,
                                                  shapes: list[Any]) -> None:
    general = _Gsub("[http][route]", pattern, replacement)
    general.results = None
    original = mutate_module._GSUB_RESULTS, mutate_module._GSUB_REMEMBERED_LENGTH
    mutate_module._GSUB_RESULTS = 3   # small, so that the memory turns over on the way
    mutate_module._GSUB_REMEMBERED_LENGTH = 5   # and longer texts take the general path
    remembered = _Gsub("[http][route]", pattern, replacement)
    batched = _Gsub("[http][route]", pattern, replacement)
    try:
        for _ in range(3):   # the later times round, from the memory (both generations)
            quick, slow, whole = _events(shapes), _events(shapes), _events(shapes)
            for a, b in zip(quick, slow):
                for sub, event in ((remembered, a), (general, b)):
                    try:
                        sub.apply(event)
                    except Exception as exc:   # noqa: BLE001 - the same failure on both
                        event.data["failed"] = type(exc).__name__
                assert a.data == b.data
            failed: list[tuple[Event, Exception]] = []
            batched.run(whole, failed)
            for event, exc in failed:
                event.data["failed"] = type(exc).__name__
            assert [e.data for e in whole] == [e.data for e in slow]
    finally:
        mutate_module._GSUB_RESULTS, mutate_module._GSUB_REMEMBERED_LENGTH = original
    for sub in (remembered, batched):
        assert sub.results is not None and len(sub.results.newer) <= 3 and len(sub.results.older) <= 3


def test_a_frequent_text_outlives_the_turnover_of_the_memory() -> None:
    """Two generations: a text seen in the older one is carried into the newer one, so
    the memory never forgets everything at once (an emptied dict did)."""
    original = mutate_module._GSUB_RESULTS
    mutate_module._GSUB_RESULTS = 4
    try:
        sub = _Gsub("[http][route]", "[0-9]+", ":id")
    finally:
        mutate_module._GSUB_RESULTS = original
    assert sub.results is not None
    for n in range(40):
        sub.apply(Event({"http": {"route": "/hot/1"}}))
        sub.apply(Event({"http": {"route": f"/cold/{n}"}}))
        assert "/hot/1" in sub.results
    assert len(sub.results) <= 8


url_holders = st.one_of(st.none(), texts, st.integers(0, 2), st.lists(texts, max_size=2),
                        st.dictionaries(st.sampled_from(["path", "x"]), field_values, max_size=2),
                        st.dictionaries(st.sampled_from(["path"]), field_values, max_size=1).map(OrderedDict))


@settings(max_examples=200, deadline=None)
@given(shapes=st.lists(st.tuples(url_holders, holders), min_size=1, max_size=8),
       target=st.sampled_from(["[http][route]", "[@metadata][route]", "route", "[http][a][b]"]),
       template=st.sampled_from(["%{[url][path]}", "%{[url]}", "p-%{[url][path]}", "%{[@metadata][x]}"]))
@pytest.mark.parametrize("native", ["on", "off"])
def test_batched_replace_gives_the_per_event_answer(shapes: list[tuple[Any, Any]], target: str,
                                                    template: str, native: str) -> None:
    """``replace`` of one field from one reference, run over the batch with the reads and
    writes written out (the usual events natively, ``copy_text``, unless the native
    module is off), answers what the per-event operation answers."""
    def events() -> list[Event]:
        out = []
        for url, http in shapes:
            data: dict[str, Any] = {"@timestamp": 0}
            if url is not None:
                data["url"] = copy.deepcopy(url)
            if http is not None:
                data["http"] = copy.deepcopy(http)
            out.append(Event(data, {"x": "m"}))
        return out

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LOGPIPE_NATIVE", native)
        mutate = MutateFilter(MutateConfig(replace={target: template}), id="m")
    [(_, op)] = mutate._ops
    quick, slow = events(), events()
    mutate.process(quick)
    for event in slow:
        try:
            op(event)
        except Exception:   # noqa: BLE001 - tagged below, as process does
            event.add_tag("_mutate_error")
    assert [(e.data, e.metadata) for e in quick] == [(e.data, e.metadata) for e in slow]


@settings(max_examples=100, deadline=None)
@given(shapes=st.lists(holders, min_size=1, max_size=8))
def test_batched_gsub_in_the_filter_tags_what_fails(shapes: list[Any]) -> None:
    """Through the filter, the batch form of a gsub keeps the per-event failure rule."""
    mutate = MutateFilter(MutateConfig(gsub=["[http][route]", "[0-9]+", ":id"]), id="m")
    general = _Gsub("[http][route]", "[0-9]+", ":id")
    general.results = None
    quick, slow = _events(shapes), _events(shapes)
    mutate.process(quick)
    for event in slow:
        try:
            general.apply(event)
        except Exception:   # noqa: BLE001 - tagged, as process does
            event.add_tag("_mutate_error")
    assert [e.data for e in quick] == [e.data for e in slow]


existing = st.one_of(st.just("absent"), st.none(), texts, st.integers(0, 2),
                     st.lists(texts, max_size=2), st.dictionaries(st.just("k"), texts, max_size=1))


@settings(max_examples=150, deadline=None)
@given(field=st.sampled_from(["[@metadata][category]", "category", "[a][b]", "[@metadata][a][b]",
                              "[a][0]"]),
       value=st.one_of(st.sampled_from(["perf", "x", 7, 1.5, True]), st.just("%{[a]}")),
       currents=st.lists(st.one_of(existing, st.just({"b": "old"}), st.just(["l"])),
                         min_size=1, max_size=5))
def test_batch_add_field_gives_what_the_per_event_adder_gives(field: str, value: Any,
                                                              currents: list[Any]) -> None:
    def events() -> list[Event]:
        out = []
        for current in currents:
            event = Event({"@timestamp": 0, "a": {"x": 1}}, {})
            if current != "absent":
                for target in (event.data, event.metadata):
                    target["category"] = copy.deepcopy(current)
                    target["a"] = copy.deepcopy(current)
            out.append(event)
        return out

    quick, slow = events(), events()
    _batch_adder(field, value)(quick)
    add = _adder(field, value)
    for event in slow:
        add(event)
    assert [(e.data, e.metadata) for e in quick] == [(e.data, e.metadata) for e in slow]
    if value != "%{[a]}":
        # and what the general walk (get_path, then set_path) makes of it
        general = events()
        for event in general:
            _add_value(event, parse(field), value)
        assert [(e.data, e.metadata) for e in quick] == [(e.data, e.metadata) for e in general]


def test_copy_text_takes_the_usual_events_and_leaves_the_rest() -> None:
    native = pytest.importorskip("logpipe_native")
    events = [Event({"url": {"path": "/a"}, "http": {"x": 1}}), Event({"url": {"path": 1}, "http": {}}),
              Event({"http": {}}), Event({"url": {"path": "/b"}}), Event({"url": {"path": "/c"}, "http": None}),
              Event({"url": OrderedDict(path="/d"), "http": {}})]
    rest = native.copy_text(events, "url", "path", "http", "route")
    assert rest == [1, 2, 3, 4, 5]
    assert events[0].data["http"] == {"x": 1, "route": "/a"}
    assert events[0].data["http"]["route"] is events[0].data["url"]["path"]
    assert [e.data.get("http") for e in events[1:]] == [{}, {}, None, None, {}]
