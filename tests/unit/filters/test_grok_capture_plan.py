"""The generated capture plans store exactly what grok's capture rules say.

The plan is Python source generated per expression, with shortcuts for the
common shapes (no target field exists yet). These tests state the rules as a
plain walk and check every plan against it on random captures and random
events, including the order in which keys appear (documents are written out in
that order).
"""
from __future__ import annotations

import copy
from typing import Any

import orjson
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from logpipe.core.event import Event
from logpipe.core.fieldref import Path
from logpipe.filters.grok.capture import CONVERTERS, CapturePlan
from logpipe.filters.grok.compiler import CaptureSpec

KEYS = st.sampled_from(["a", "b", "c"])
PATHS = st.one_of(
    st.lists(KEYS, min_size=1, max_size=3).map(tuple),
    st.lists(KEYS, min_size=1, max_size=2).map(lambda keys: ("@metadata", *keys)))
SPECS = st.lists(st.tuples(PATHS, st.sampled_from([None, "int", "float", "bool"])), min_size=1, max_size=6)
GROUP = st.sampled_from([None, "", "7", "x", "12abc", "true", "2.5", "-"])
LEAF_VALUES = st.one_of(st.just("old"), st.integers(0, 3), st.just(["l"]), st.none())
TREES = st.recursive(LEAF_VALUES, lambda inner: st.dictionaries(KEYS, inner, max_size=3), max_leaves=6)
EXISTING = st.one_of(st.just({}), st.dictionaries(KEYS, TREES, max_size=3))


def _rules(event: Event, specs: list[tuple[Path, str | None]], groups: list[str | None], *,
           overwrite: frozenset[Path], keep_empty: bool) -> None:
    """grok's capture rules, one field at a time through the event's accessors."""
    for (path, kind), value in zip(specs, groups):
        if value is None and keep_empty:
            if event.get_path(path) is None:
                event.set_path(path, None)
            continue
        if not (value is not None if keep_empty else value):
            continue
        stored: Any = CONVERTERS[kind](value) if kind else value
        if path in overwrite:
            event.set_path(path, stored)
            continue
        old = event.get_path(path)
        if old is None:
            event.set_path(path, stored)
        elif isinstance(old, list):
            old.append(stored)
        elif isinstance(old, str):
            event.set_path(path, [old, stored])


def _dump(event: Event) -> bytes:
    # Not sorted: the order of keys is part of what is compared.
    return orjson.dumps({"data": event.data, "meta": event.metadata})


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SPECS, st.lists(GROUP, min_size=6, max_size=6), EXISTING, EXISTING, st.booleans(), st.booleans())
# A field inside another captured field, and one field captured twice: the rules, not the shortcut.
@example([(("a", "b"), None), (("a",), None)], ["x", "y"] * 3, {}, {}, False, False)
@example([(("@metadata", "a", "b"), None), (("@metadata", "a"), None)], ["x", "y"] * 3, {}, {}, False, False)
@example([(("a", "b"), None), (("a", "b"), "int")], ["x", "7"] * 3, {}, {}, False, False)
def test_generated_plan_follows_the_capture_rules(specs, groups, existing, meta, keep_empty,
                                                  some_overwrite) -> None:
    groups = groups[:len(specs)]
    overwrite = frozenset(path for path, _ in specs[:1]) if some_overwrite else frozenset()
    captures = [CaptureSpec(group=f"g{i}", field="".join(f"[{k}]" for k in path), path=path, type=kind)
                for i, (path, kind) in enumerate(specs)]
    plan = CapturePlan(captures, overwrite=["".join(f"[{k}]" for k in p) for p in overwrite],
                       keep_empty=keep_empty)
    ours = Event({"@timestamp": 0, "message": "m", **copy.deepcopy(existing)}, copy.deepcopy(meta))
    theirs = Event({"@timestamp": 0, "message": "m", **copy.deepcopy(existing)}, copy.deepcopy(meta))
    plan.apply(ours, groups)
    _rules(theirs, list(specs), groups, overwrite=overwrite, keep_empty=keep_empty)
    assert _dump(ours) == _dump(theirs)


def test_fresh_event_gets_nested_objects_in_capture_order() -> None:
    """The shortcut for an event holding none of the fields: objects are created by the
    first capture that reaches them, later captures fill them, empty ones never appear."""
    specs = [(("http", "request", "method"), None), (("url", "original"), None),
             (("http", "version"), None), (("http", "response", "status_code"), "int"),
             (("http", "request", "referrer"), None), (("@metadata", "t"), None),
             (("user", "name"), None)]
    plan = CapturePlan([CaptureSpec(group=f"g{i}", field="", path=p, type=t)
                        for i, (p, t) in enumerate(specs)])
    event = Event({"@timestamp": 0})
    plan.apply(event, ["GET", "/a", None, "200", "ref", "now", ""])
    assert _dump(event) == orjson.dumps({
        "data": {"@timestamp": 0,
                 "http": {"request": {"method": "GET", "referrer": "ref"}, "response": {"status_code": 200}},
                 "url": {"original": "/a"}},
        "meta": {"t": "now"}})
    late = Event({"@timestamp": 0})
    plan.apply(late, [None, None, "1.1", None, "ref", None, None])
    assert late.data == {"@timestamp": 0, "http": {"version": "1.1", "request": {"referrer": "ref"}}}
    assert list(late.data["http"]) == ["version", "request"]
