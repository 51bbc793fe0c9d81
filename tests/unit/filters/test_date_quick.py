"""The date filter's written-out loop answers what its general loop answers.

A source one dict lookup away (``[@metadata][access_time]``, ``ts``) with a
top-level target (``@timestamp``) takes ``_process_quick``: the cached text
case inline, everything else handed to the general loop. Random values (texts
that parse, texts that do not, numbers, lists, nulls, objects) and a tiny cache
(so that its two generations turn over on the way) must give the same events,
tags and ``add_tag`` results as the general loop without a cache.
"""
from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logpipe.core.event import Event
from logpipe.filters.date import DateFilter
from logpipe.filters.date import filter as date_module

stamps = st.sampled_from(["10/Oct/2000:13:55:36 -0700", "11/Oct/2000:13:55:36 +0000",
                          "2024-01-15T10:23:45.123456Z", "2024-01-15", "nonsense", "",
                          "31/Feb/2000:00:00:00 +0000", "1705314225"])
values = st.one_of(st.none(), stamps, st.integers(0, 2 ** 31), st.floats(allow_nan=False),
                   st.lists(stamps, max_size=2), st.dictionaries(st.just("k"), stamps, max_size=1),
                   st.booleans())


@pytest.mark.parametrize("source", ["[@metadata][access_time]", "ts"])
@pytest.mark.parametrize("formats", [["dd/MMM/yyyy:HH:mm:ss Z", "ISO8601"], ["UNIX", "ISO8601"]])
@settings(max_examples=100, deadline=None)
@given(batches=st.lists(st.lists(st.one_of(st.just("absent"), values), min_size=1, max_size=6),
                        min_size=1, max_size=4))
def test_the_quick_loop_gives_the_general_answer(source: str, formats: list[str],
                                                 batches: list[list[Any]]) -> None:
    config = DateFilter.Config(match=[source, *formats], add_tag=["dated"])
    original = date_module._CACHE_SIZE
    date_module._CACHE_SIZE = 2   # small, so that the cache turns over on the way
    try:
        quick = DateFilter(config, id="q")
        general = DateFilter(config, id="g")
        assert quick._quick is not None
        general._quick = None
        general._cache = None
        for values_ in batches:
            def events() -> list[Event]:
                out = []
                for value in values_:
                    event = Event({"@timestamp": 0, "other": 1}, {})
                    if value != "absent":
                        holder = event.metadata if source.startswith("[@metadata]") else event.data
                        holder["access_time" if source.startswith("[@metadata]") else "ts"] = copy.deepcopy(value)
                    out.append(event)
                return out
            a, b = events(), events()
            quick.process(a)
            general.process(b)
            assert [(e.data, e.metadata) for e in a] == [(e.data, e.metadata) for e in b]
    finally:
        date_module._CACHE_SIZE = original
    assert quick._cache is not None and len(quick._cache.newer) <= 2 and len(quick._cache.older) <= 2


def test_a_target_below_the_top_keeps_the_general_loop() -> None:
    assert DateFilter(DateFilter.Config(match=["ts", "ISO8601"], target="[a][b]"), id="d")._quick is None
    assert DateFilter(DateFilter.Config(match=["[a][b]", "ISO8601"]), id="d")._quick is None
