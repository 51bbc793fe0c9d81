"""A constant ``add_field`` entry at a fixed path, natively (``ConstantAdder``),
against the Python walk (``field_adder``): the same documents, in the same order,
for events of every shape on the way, and the events it leaves to Python taken
there without losing their place in the batch."""
from __future__ import annotations

import copy
import os
from collections import OrderedDict
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logpipe.core.event import Event
from logpipe.core.fieldref import parse
from logpipe.filters import common

native = (__import__("logpipe_native") if os.environ.get("CI") == "true"
          else pytest.importorskip("logpipe_native"))


class Sub(dict):  # type: ignore[type-arg]
    pass


class Items(list):  # type: ignore[type-arg]
    pass


class OtherEvent(Event):
    __slots__ = ()


def adders(name: str, value: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    monkeypatch.delenv("LOGPIPE_NATIVE", raising=False)
    fast = common._batch_adder(name, value)
    monkeypatch.setenv("LOGPIPE_NATIVE", "off")
    slow = common._batch_adder(name, value)
    monkeypatch.delenv("LOGPIPE_NATIVE", raising=False)
    assert fast.__name__ == "add_constant_native" and slow.__name__ == "add_constant_all"
    return fast, slow


WHEN = datetime(2025, 6, 15, tzinfo=timezone.utc)
SHAPES: list[Any] = [None, "text", 3, [1], Items([1]), {}, {"k": "old"}, {"k": None}, {"k": [0]},
                     {"k": Items([0])}, {"k": {"deep": 1}}, Sub(k="s"), Sub(), OrderedDict(k=1)]


def make(shape: Any, where: str, cls: type[Event] = Event) -> Event:
    data: dict[str, Any] = {"@timestamp": WHEN, "message": "m"}
    meta: dict[str, Any] = {}
    target = meta if where == "meta" else data
    if shape is not None or where == "none":
        target["a"] = copy.deepcopy(shape)
    return cls(data, meta)


@pytest.mark.parametrize("name,where", [("[a][k]", "data"), ("[@metadata][a][k]", "meta"), ("[a][k]", "none")])
def test_every_shape_on_the_way_gives_the_pythons_document(name: str, where: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    fast, slow = adders(name, "v", monkeypatch)
    for cls in (Event, OtherEvent):
        a = [make(shape, where, cls) for shape in SHAPES]
        b = [make(shape, where, cls) for shape in SHAPES]
        fast(a)
        slow(b)
        for x, y in zip(a, b):
            assert x.data == y.data and x.metadata == y.metadata
            assert repr(x.data) == repr(y.data) and repr(x.metadata) == repr(y.metadata)


def test_a_top_level_field_and_a_shared_object_in_batch_order(monkeypatch: pytest.MonkeyPatch) -> None:
    fast, slow = adders("[shared][k]", 1, monkeypatch)
    for add in (fast, slow):
        shared: dict[str, Any] = {}
        events = [Event({"shared": shared}), Event({"shared": Sub()}), Event({"shared": shared})]
        add(events)
        assert shared == {"k": [1, 1]}  # the first event set it, the third (after Python's turn) appended
    fast, slow = adders("tag", "x", monkeypatch)
    a = [Event({"tag": "y", "@timestamp": WHEN}), Event({"@timestamp": WHEN})]
    b = [Event({"tag": "y", "@timestamp": WHEN}), Event({"@timestamp": WHEN})]
    fast(a)
    slow(b)
    assert [repr(e.data) for e in a] == [repr(e.data) for e in b] == [
        repr({"tag": ["y", "x"], "@timestamp": WHEN}), repr({"@timestamp": WHEN, "tag": "x"})]


values = st.recursive(st.none() | st.integers() | st.text(max_size=3),
                      lambda inner: st.lists(inner, max_size=2) | st.dictionaries(
                          st.sampled_from(["a", "b", "k"]), inner, max_size=2), max_leaves=6)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(["a", "b", "message"]), values, max_size=3), max_size=8),
       st.sampled_from(["a", "[a][b]", "[a][b][k]", "[@metadata][a][k]", "[b][0]"]),
       st.one_of(st.text(max_size=3), st.integers(), st.booleans(), st.floats(allow_nan=False)))
def test_generated_events(datas: list[dict[str, Any]], name: str, value: Any) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        fast, slow = adders(name, value, monkeypatch)
    a = [Event({**copy.deepcopy(d), "@timestamp": WHEN}, {"a": copy.deepcopy(d.get("a"))}) for d in datas]
    b = [Event({**copy.deepcopy(d), "@timestamp": WHEN}, {"a": copy.deepcopy(d.get("a"))}) for d in datas]
    fast(a)
    slow(b)
    assert [repr(e.data) for e in a] == [repr(e.data) for e in b]
    assert [repr(e.metadata) for e in a] == [repr(e.metadata) for e in b]


def test_paths_it_does_not_take_keep_python(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOGPIPE_NATIVE", raising=False)
    assert common._native_adder(parse("[@metadata]"), 1) is None
    assert common._native_adder(parse("[a][b]"), 1) is not None
    with pytest.raises(ValueError):
        native.ConstantAdder(Event, False, [], 1)
