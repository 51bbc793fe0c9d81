"""Readers and writers for a fixed field answer exactly as the event's own accessors."""
from __future__ import annotations

import copy

import orjson
from hypothesis import example, given, settings
from hypothesis import strategies as st

from logpipe.core.event import Event
from logpipe.filters.fieldaccess import getter, setter

KEYS = st.sampled_from(["a", "b", "0", "-1"])
PATHS = st.one_of(st.lists(KEYS, min_size=1, max_size=4).map(tuple),
                  st.lists(KEYS, min_size=0, max_size=3).map(lambda k: ("@metadata", *k)))
LEAVES = st.one_of(st.none(), st.integers(0, 2), st.just("s"), st.just(True))
TREES = st.recursive(LEAVES, lambda inner: st.one_of(st.dictionaries(KEYS, inner, max_size=3),
                                                     st.lists(inner, max_size=3)), max_leaves=8)
DATA = st.dictionaries(KEYS, TREES, max_size=3)


def _dump(event: Event) -> bytes:
    return orjson.dumps({"data": event.data, "meta": event.metadata})


@settings(max_examples=500, deadline=None)
@given(PATHS, DATA, DATA)
@example(("a", "b"), {"a": {"b": 0}}, {})
@example(("a", "0"), {"a": [1, 2]}, {})
@example(("a", "b"), {"a": "text"}, {})
@example(("@metadata", "a", "b"), {}, {"a": {"b": 0}})
@example(("a", "b", "0"), {"a": {"b": [False]}}, {})
@example(("a", "b", "a"), {"a": {"b": {"a": 0}}}, {})
def test_getter_reads_what_get_path_reads(path, data, meta) -> None:
    event = Event({"@timestamp": 0, **data}, meta)
    assert getter(path)(event) is event.get_path(path)


@settings(max_examples=500, deadline=None)
@given(PATHS, DATA, DATA, LEAVES)
@example(("a", "0"), {"a": [1, 2]}, {}, "new")
@example(("a", "b"), {"a": 5}, {}, "new")
@example(("@metadata", "a"), {}, {"a": 1}, "new")
@example(("@metadata", "a", "b"), {}, {"a": {}}, 0)
def test_setter_writes_what_set_path_writes(path, data, meta, value) -> None:
    ours = Event({"@timestamp": 0, **copy.deepcopy(data)}, copy.deepcopy(meta))
    theirs = Event({"@timestamp": 0, **copy.deepcopy(data)}, copy.deepcopy(meta))
    raised = None
    try:
        theirs.set_path(path, value)
    except (TypeError, IndexError) as exc:     # what set_path refuses, the setter refuses too
        raised = type(exc)
    if raised is not None:
        try:
            setter(path)(ours, value)
        except raised:
            pass
        else:
            raise AssertionError(f"setter accepted what set_path refused: {path}")
    else:
        setter(path)(ours, value)
    assert _dump(ours) == _dump(theirs)
