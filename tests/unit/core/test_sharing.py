"""Which enrichment filters may hand one object to many events: the pipeline's
analysis of what later filters and outputs declare they may write."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from logpipe.config.loader import load_file, load_text
from logpipe.core.pipeline import Pipeline
from logpipe.core.plugin import Filter, Output
from logpipe.core.sharing import SharesMemo, declared_writes, plan_sharing, unaltered
from logpipe.core.writes import Alias, Write, Writes, changes, moves, sets

ROOT = Path(__file__).resolve().parents[3]

HEAD = """
inputs:
  - type: generator
    count: 1
    message: x
filters:
  - type: geoip
    id: geoip
    source: source.ip
    target: source.geo
    on_missing: tag
  - type: useragent
    id: useragent
  - type: perfclass
    id: perfclass
"""
TAIL = """
outputs:
  - type: stdout
    id: out
"""


def verdicts(middle: str = "", tail: str = TAIL) -> dict[str, bool]:
    pipeline = Pipeline(load_text(HEAD + middle + tail))
    return {f.id: f.share_memo for f in pipeline.filters if isinstance(f, SharesMemo) and f.id in ALL}


ALL = {"geoip": True, "useragent": True, "perfclass": True}


def test_graphmemory_shares_all_three(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGPIPE_SCRUB_KEY", "k")
    pipeline = Pipeline(load_file(ROOT / "pipelines" / "graphmemory.yaml"))
    assert plan_sharing(pipeline.filters, pipeline.outputs) == {**ALL, "sample_requests": False}  # it samples (rate 10): nothing to share
    assert all(f.share_memo for f in pipeline.filters if isinstance(f, SharesMemo) and f.id in ALL)


def test_sharers_list_what_they_made_in_advance_only_when_they_share() -> None:
    pipeline = Pipeline(load_text(HEAD + TAIL))
    perf = next(f for f in pipeline.filters if f.id == "perfclass")
    listed, _ = pipeline.context.frozen.since(0)
    made = list(perf.made_in_advance())
    assert made and listed == made and all(a is b for a, b in zip(listed, made))
    pipeline = Pipeline(load_text(HEAD + '  - {type: mutate, replace: {"[performance][class]": "x"}}\n' + TAIL))
    assert not next(f for f in pipeline.filters if f.id == "perfclass").share_memo
    assert pipeline.context.frozen.since(0) == ([], 0)


def test_the_scrub_filter_reads_its_pipelines_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGPIPE_SCRUB_KEY", "k")
    monkeypatch.delenv("LOGPIPE_NATIVE", raising=False)
    pipeline = Pipeline(load_file(ROOT / "pipelines" / "graphmemory.yaml"))
    scrubber = pipeline.context.scrubber
    assert scrubber is not None and scrubber._frozen in (None, pipeline.context.frozen)
    if scrubber._native is not None:
        assert scrubber._frozen is pipeline.context.frozen


def test_nothing_after_them_shares() -> None:
    assert verdicts() == ALL


SAMPLE = """
  - type: sample
    id: sample
    rate: 1
"""


@pytest.mark.parametrize(("after", "shares"), [
    ("", True),
    ("""
  - type: mutate
    id: m
    add_field: {"[event][sampling][note]": "x"}
""", False),
    ("""
  - type: mutate
    id: m
    replace: {"[event][dataset]": "x"}
""", True),
])
def test_the_sampling_stamp_is_shared_unless_something_later_writes_into_it(after: str, shares: bool) -> None:
    pipeline = Pipeline(load_text(HEAD + SAMPLE + after + TAIL))
    (sample,) = [f for f in pipeline.filters if f.id == "sample"]
    assert isinstance(sample, SharesMemo) and sample.share_memo is shares
    listed, _ = pipeline.context.frozen.since(0)
    assert any(obj is sample._shared_stamp for obj in listed) is shares


def test_a_filter_built_alone_copies() -> None:
    from logpipe.filters.geoip import GeoipFilter
    assert GeoipFilter(GeoipFilter.Config(on_missing="tag"), id="g").share_memo is False


@pytest.mark.parametrize("middle, copies", [
    # a write inside the shared object
    ('  - {type: mutate, replace: {"[source][geo][city_name]": "x"}}\n', {"geoip"}),
    ('  - {type: mutate, add_field: {"[source][geo][note]": "x"}}\n', {"geoip"}),
    ('  - {type: mutate, remove_field: ["[source][geo][city_name]"]}\n', {"geoip"}),
    ('  - {type: mutate, gsub: ["[source][geo]", "a", "b"]}\n', {"geoip"}),
    ('  - {type: mutate, lowercase: ["[user_agent][os][name]"]}\n', {"useragent"}),
    ('  - {type: mutate, merge: {"[performance]": "[extra]"}}\n', {"perfclass"}),
    ('  - {type: mutate, add_field: {"[performance][note]": "x"}}\n', {"perfclass"}),
    ('  - {type: grok, match: {message: "%{WORD:[source][geo][city_name]}"}}\n', {"geoip"}),
    # a change in place at a parent reaches everything under it
    ('  - {type: mutate, merge: {"[source]": "[other]"}}\n', {"geoip"}),
    # a template may name any field
    ('  - {type: mutate, replace: {"%{[name]}": "x"}}\n', {"geoip", "useragent", "perfclass"}),
    # a filter that does not say what it writes may write anything
    ('  - {type: python, code: "def filter(event):\\n    return [event]\\n"}\n',
     {"geoip", "useragent", "perfclass"}),
    # a second perfclass adds its keys to the existing performance object
    ('  - {type: perfclass}\n', {"perfclass"}),
    # the filter's own common options run after it put the object in place
    ('', set()),
])
def test_a_later_writer_at_or_under_the_target_turns_sharing_off(middle: str, copies: set[str]) -> None:
    assert verdicts(middle) == {k: k not in copies for k in ALL}


def test_common_options_of_the_filter_itself_count() -> None:
    text = HEAD.replace("    on_missing: tag\n", "    on_missing: tag\n"
                        "    add_field: {\"[source][geo][via]\": \"db\"}\n")
    pipeline = Pipeline(load_text(text + TAIL))
    assert {f.id: f.share_memo for f in pipeline.filters if isinstance(f, SharesMemo)} == {
        "geoip": False, "useragent": True, "perfclass": True}


@pytest.mark.parametrize("middle", [
    # replacing the parent lets the shared object go: it is not changed
    '  - {type: mutate, replace: {"[source]": "gone"}}\n',
    '  - {type: mutate, remove_field: ["[source][geo]", "[user_agent][os]", "[performance]"]}\n',
    # keys next to the shared objects
    '  - {type: mutate, replace: {"[source][ip]": "x", "[user_agent][name]": "n"}}\n',
    '  - {type: mutate, add_field: {"[source][note]": "x", "[event][note]": "y"}}\n',
    # a second geoip with the same target replaces the object, never edits it
    '  - {type: geoip, source: "[client][ip]", target: "[source][geo]", on_missing: tag}\n',
    # copy deep-copies: writing into the copy leaves the shared object alone
    ('  - {type: mutate, copy: {"[source][geo]": "[g]"}}\n'
     '  - {type: mutate, replace: {"[g][city_name]": "x"}}\n'),
    # a rename elsewhere, then writes there
    ('  - {type: mutate, rename: {"[a]": "[b]"}}\n'
     '  - {type: mutate, replace: {"[b][c]": "x"}}\n'),
    '  - {type: scrub, allow_random_key: true}\n',
    '  - {type: drop, if: "[x]"}\n  - {type: sample, rate: 2}\n',
    '  - {type: classify}\n  - {type: date, match: ["[t]", "ISO8601"]}\n',
    '  - {type: json, source: message}\n  - {type: clone, clones: [c]}\n',
    # filters that declare their writes (tests/unit/core/test_declared_writes.py)
    '  - {type: urldecode, field: "[url][original]"}\n  - {type: truncate, fields: [message], length_bytes: 9}\n',
    ('  - {type: fingerprint, source: [message], target: "[event][hash]"}\n'
     '  - {type: cidr, address: ["%{[source][ip]}"], network: ["10.0.0.0/8"], add_tag: [internal]}\n'),
])
def test_writers_elsewhere_leave_sharing_on(middle: str) -> None:
    assert verdicts(middle) == ALL


@pytest.mark.parametrize("middle, copies", [
    # the shared object renamed, then written where it went
    (('  - {type: mutate, rename: {"[source][geo]": "[g]"}}\n'
      '  - {type: mutate, replace: {"[g][city_name]": "x"}}\n'), {"geoip"}),
    # its parent renamed, then the object written under its new parent
    (('  - {type: mutate, rename: {"[source]": "[s]"}}\n'
      '  - {type: mutate, gsub: ["[s][geo][city_name]", "a", "b"]}\n'), {"geoip"}),
    # a part of it renamed, then changed where it went
    (('  - {type: mutate, rename: {"[source][geo][location]": "[loc]"}}\n'
      '  - {type: mutate, add_field: {"[loc][x]": "1"}}\n'), {"geoip"}),
    (('  - {type: mutate, rename: {"[user_agent]": "[ua]"}}\n'
      '  - {type: mutate, add_field: {"[ua][os][x]": "1"}}\n'), {"useragent"}),
    # renamed to a place that a template names: that may be inside any of them
    ('  - {type: mutate, rename: {"[performance]": "%{[where]}"}}\n',
     {"geoip", "useragent", "perfclass"}),
])
def test_an_alias_then_a_write_there_turns_sharing_off(middle: str, copies: set[str]) -> None:
    assert verdicts(middle) == {k: k not in copies for k in ALL}


def test_writers_inside_conditional_branches_count() -> None:
    middle = """
  - if: '[a]'
    then:
      - {type: mutate, add_field: {"[b]": "x"}}
    else_if:
      - if: '[c]'
        then:
          - if: '[d]'
            then:
              - {type: mutate, replace: {"[source][geo][city_name]": "x"}}
    else:
      - {type: mutate, add_field: {"[user_agent][device][x]": "1"}}
"""
    assert verdicts(middle) == {"geoip": False, "useragent": False, "perfclass": True}


def test_a_sharer_inside_a_branch_sees_what_follows_the_block() -> None:
    text = """
inputs:
  - {type: generator, count: 1, message: x}
filters:
  - if: '[a]'
    then:
      - {type: perfclass, id: inner}
  - {type: mutate, add_field: {"[performance][x]": "1"}, if: '[b]'}
outputs:
  - {type: stdout}
"""
    [inner] = [f for f in Pipeline(load_text(text)).filters if isinstance(f, SharesMemo)]
    assert inner.share_memo is False


class _Unknown(Output):
    async def send(self, events: list[Any]) -> None:
        return None


def test_an_output_that_does_not_say_counts_as_a_writer() -> None:
    pipeline = Pipeline(load_text(HEAD + TAIL))
    assert plan_sharing(pipeline.filters, [*pipeline.outputs, _Unknown(Output.Config(), id="u")]) == {
        k: False for k in ALL}
    assert plan_sharing(pipeline.filters, pipeline.outputs) == ALL


def test_every_built_in_output_declares_it_changes_nothing() -> None:
    from logpipe.core import registry
    for name in registry.names("output"):
        cls = registry.get("output", name)
        if not cls.__module__.startswith("logpipe."):
            continue   # the tests' own outputs
        assert cls.writes is not Output.writes, name


def test_undeclared_plugins_write_anywhere() -> None:
    assert declared_writes(Filter(Filter.Config(), id="f")) == Writes.anywhere()
    assert declared_writes(object()) == Writes.anywhere()


# --- the vocabulary ------------------------------------------------------------------
@pytest.mark.parametrize("write, location, reaches", [
    (Write(("source", "geo", "city"), False), ("source", "geo"), True),
    (Write(("source", "geo"), False), ("source", "geo"), False),
    (Write(("source",), False), ("source", "geo"), False),
    (Write(("source", "ip"), False), ("source", "geo"), False),
    (Write(("source", "geo"), True), ("source", "geo"), True),
    (Write(("source",), True), ("source", "geo"), True),
    (Write(("source", "geo", "location", "lat"), True), ("source", "geo"), True),
    (Write(("source", "ip"), True), ("source", "geo"), False),
    (Write(("user_agent", "*"), False), ("user_agent", "*"), False),
    (Write(("user_agent", "*", "x"), False), ("user_agent", "*"), True),
    (Write(("*",), False), ("performance",), False),
    (Write((), True), ("anything",), True),
])
def test_what_a_write_reaches(write: Write, location: tuple[str, ...], reaches: bool) -> None:
    assert write.reaches(location) is reaches


def test_aliases_carry_objects_and_their_parts() -> None:
    alias = Alias(("source",), ("s",))
    assert alias.carry(("source", "geo")) == ("s", "geo")
    assert Alias(("source", "geo", "location"), ("loc",)).carry(("source", "geo")) == ("loc",)
    assert Alias(("a",), ("b",)).carry(("source", "geo")) is None
    assert Alias((), ("b",)).carry(("source", "geo")) == ("b",)
    assert unaltered([("source", "geo")], [moves("[source]", "[s]"), changes("[s][geo][x]")]) is False
    assert unaltered([("source", "geo")], [changes("[s][geo][x]"), moves("[source]", "[s]")]) is True
    assert unaltered([("source", "geo")], [sets("[source][geo]", "[source][ip]")]) is True
