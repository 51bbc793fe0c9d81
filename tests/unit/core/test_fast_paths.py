"""The shortcuts taken on hot paths answer exactly what the general code answers."""
from __future__ import annotations

from collections import OrderedDict
from datetime import datetime, timedelta
from typing import Any

import pytest

from logpipe.core.codec import event_from_json, events_from_json
from logpipe.core.conditions import compile_condition
from logpipe.core.event import Event, adopt, now
from logpipe.core.fieldref import parse

DATA: dict[str, Any] = {
    "message": "m",
    "a": {"b": {"c": 1}, "list": [10, {"x": "y"}], "none": None, "false": False},
    "tags": ["t0", "t1"],
    "scalar": 5,
    "ordered": OrderedDict(inner="v"),
}
META = {"k": "v", "nested": {"deep": 2}}


@pytest.mark.parametrize("ref,expected", [
    ("message", "m"), ("[a][b][c]", 1), ("[a][list][0]", 10), ("[a][list][1][x]", "y"),
    ("[a][list][5]", "DEFAULT"), ("[a][list][x]", "DEFAULT"), ("[tags][1]", "t1"),
    ("[scalar][x]", "DEFAULT"), ("[a][none]", None), ("[a][none][x]", "DEFAULT"),
    ("[a][false]", False), ("[missing]", "DEFAULT"), ("[a][missing][deeper]", "DEFAULT"),
    ("[ordered][inner]", "v"), ("[@metadata][k]", "v"), ("[@metadata][nested][deep]", 2),
    ("[@metadata][nope]", "DEFAULT"),
])
def test_get_path_present_absent_and_through_lists(ref: str, expected: Any) -> None:
    e = Event(dict(DATA), dict(META))
    assert e.get_path(parse(ref), "DEFAULT") == expected


@pytest.mark.parametrize("cond", [
    "[a][b]", "![a][b]", "[a][none]", "[a][false]", "[a][missing]", "[tags][0] == 't0'",
    "[tags][3]", "[scalar][x]", "[@metadata][k] == 'v'", "![@metadata][nope]",
    "[ordered][inner] == 'v'", "'t1' in [tags]", "[a][list] == [10]",
])
def test_two_level_condition_readers_match_get_path(cond: str) -> None:
    """``[x][y]`` and ``[@metadata][x]`` conditions read without get_path; lists, scalars
    and dict subclasses on the way must still answer as get_path does."""
    fast = compile_condition(cond)
    e = Event(dict(DATA), dict(META))
    expected = {"[a][b]": True, "![a][b]": False, "[a][none]": False, "[a][false]": False,
                "[a][missing]": False, "[tags][0] == 't0'": True, "[tags][3]": False,
                "[scalar][x]": False, "[@metadata][k] == 'v'": True, "![@metadata][nope]": True,
                "[ordered][inner] == 'v'": True, "'t1' in [tags]": True, "[a][list] == [10]": False}
    assert fast(e) is expected[cond]


FIELDS = ["message", "[message]", "[scalar]", "[missing]", "[a][b]", "[a][none]", "[a][false]",
          "[a][missing]", "[a][list][0]", "[a][list][7]", "[tags][1]", "[tags][3]", "[scalar][x]",
          "[missing][x]", "[ordered][inner]", "[a][b][c]", "[a][b][zz]", "[@metadata][k]",
          "[@metadata][nope]", "[@metadata][nested][deep]", "[@metadata][k][x]"]


@pytest.mark.parametrize("ref", FIELDS)
def test_bare_and_negated_fields_answer_what_get_path_gives(ref: str) -> None:
    """``[f]``, ``![f]`` and ``!![f]`` have a closure per path shape; each must agree
    with the truth of ``get_path`` (missing, null and false are false)."""
    for data, meta in ((dict(DATA), dict(META)), ({}, {}), ({"a": None, "tags": "t", "scalar": [1]}, {"k": False})):
        e = Event(data, meta)
        value = e.get_path(parse(ref))
        truth = value is not None and value is not False
        assert compile_condition(ref)(e) is truth
        assert compile_condition(f"!{ref}")(e) is (not truth)
        assert compile_condition(f"not {ref}")(e) is (not truth)
        assert compile_condition(f"!!{ref}")(e) is truth
        assert compile_condition(f"!({ref})")(e) is (not truth)


@pytest.mark.parametrize("pattern", [r"^\s*\{", r"^a", r"^a|b", r"^$", r"\{$", r"(?:^x|^y)z", r"^A", r"(?i)^a"])
@pytest.mark.parametrize("value", ["{\"a\": 1}", "  {", "x {", "line\n  {x", "line\n", "", "a", "ba", "\n",
                                   "xz", "q\nyz", "A", 7, None])
def test_regex_conditions_answer_what_a_search_gives(pattern: str, value: Any) -> None:
    """A pattern starting with ``^`` is tried at position 0 only when the value has no
    newline; the answer must be what a MULTILINE search gives."""
    import re

    rx = re.compile(pattern, re.MULTILINE)
    found = isinstance(value, str) and rx.search(value) is not None
    e = Event({"f": value, "n": {"f": value}})
    for ref in ("[f]", "[n][f]"):
        assert compile_condition(f"{ref} =~ /{pattern}/")(e) is found
        assert compile_condition(f"{ref} !~ /{pattern}/")(e) is (not found)


def test_adopt_wraps_a_built_dict_like_the_constructor() -> None:
    ts = now()
    fast = adopt({"@timestamp": ts, "message": "x"}, {})
    slow = Event({"@timestamp": ts, "message": "x"})
    assert fast == slow and fast.to_dict() is fast.data
    fast.set("[@metadata][m]", 1)
    assert fast.metadata == {"m": 1} and "@metadata" not in fast.data


def test_json_codec_parses_or_keeps_the_time() -> None:
    e = event_from_json(b'{"@timestamp": "2025-01-02T03:04:05+01:00", "a": 1}')
    assert e.data["@timestamp"].isoformat() == "2025-01-02T02:04:05+00:00"
    bad = event_from_json(b'{"@timestamp": "yesterday"}')
    assert bad.data["_timestamp_original"] == "yesterday" and bad.data["@timestamp"].tzinfo


def test_batch_json_decoding_gives_what_record_by_record_decoding_gives() -> None:
    raws = [b'{"message": "raw line"}', b'{"@timestamp": "2025-01-02T03:04:05Z", "a": {"b": 1}}',
            b'{"@timestamp": "not a time", "x": 1}', b'{"@timestamp": null}', b'{"@timestamp": 17}',
            b'{"@metadata": {"route": "r"}, "y": 2}', b'{"@metadata": "not an object"}',
            b"not json", b"[1, 2]", b'"text"', b"{\"bad\xff utf8\": 1}", "{\"str\": 1}"]
    batch = events_from_json(raws)
    one_by_one = [event_from_json(raw) for raw in raws]
    assert len(batch) == len(one_by_one)
    arrival = now()
    for fast, slow in zip(batch, one_by_one):
        a, b = dict(fast.data), dict(slow.data)
        if all(isinstance(d.get("@timestamp"), datetime) and abs(d["@timestamp"] - arrival) < timedelta(minutes=1)
               for d in (a, b)):
            del a["@timestamp"], b["@timestamp"]   # arrival times: one per batch vs one per record
        assert a == b and fast.metadata == slow.metadata
        assert list(fast.data) == [k for k in slow.data]
    assert batch[5].metadata == {"route": "r"} and "@metadata" not in batch[5].data
    assert batch[7].has_tag("_jsonparsefailure") and batch[8].has_tag("_jsonparsefailure")


def test_serializing_non_text_keys_and_odd_values_still_works() -> None:
    """Text keys take orjson's quick path; a non-text key falls back, same output."""
    from logpipe.core.codec import dumps, json_lines

    plain = Event({"@timestamp": now(), "a": 1, "s": {3}, "b": b"x\xff"})
    odd = Event({"@timestamp": plain.data["@timestamp"], 1: "one", "nested": {2.5: "x"}})
    assert dumps(plain.data).startswith(b'{"@timestamp":"') and b'"s":[3]' in dumps(plain.data)
    assert b'"1":"one"' in dumps(odd.data) and b'"2.5":"x"' in dumps(odd.data)
    lines = json_lines([plain, odd]).splitlines()
    assert lines == [dumps(plain.data), dumps(odd.data)]
    with pytest.raises(TypeError):
        dumps({"big": 1 << 70})


READER_FIELDS = [*FIELDS, "[a][b][c][d]", "[a][list][1]", "[a][list][1][x]", "[a][none][x][y]",
                 "[ordered][inner][x]", "[tags][0][x]", "[scalar][x][y]", "[@metadata]",
                 "[@metadata][nested][deep][x]", "[a][b][missing]"]


@pytest.mark.parametrize("ref", READER_FIELDS)
def test_field_readers_answer_what_get_path_gives(ref: str) -> None:
    """event.reader has inline walks for one, two and three keys and [@metadata][x]; lists,
    scalars, nulls and dict subclasses on the way must give get_path's answer."""
    from logpipe.core.event import reader

    read = reader(parse(ref))
    shapes = ((dict(DATA), dict(META)), ({}, {}),
              ({"a": None, "tags": "t", "scalar": [1], "ordered": {"inner": [1]}}, {"k": False}),
              ({"a": {"b": [0, 1], "list": "s", "none": {"x": {"y": 3}}}}, {"nested": {"deep": {"x": 4}}}))
    for data, meta in shapes:
        e = Event(data, meta)
        assert read(e) == e.get_path(parse(ref))


def _render_by_get_path(template: str, event: Event) -> str:
    """What a template gives, spelled out with get_path (the shortcuts' yardstick)."""
    import re as _re

    from logpipe.core.sprintf import _stringify

    def one(m: _re.Match[str]) -> str:
        body = m.group(1)
        if body.startswith("+"):
            return m.group(0)   # formats are left to the time tests
        value = event.get_path(parse(body))
        return m.group(0) if value is None else _stringify(value)
    return _re.sub(r"%\{([^}]+)\}", one, template)


@pytest.mark.parametrize("template", [
    "%{message}", "%{[a][b][c]}", "%{[a][b]}", "%{[a][list]}", "%{[a][none]}", "%{[a][false]}",
    "%{[a][list][1][x]}", "%{[missing]}", "%{[@metadata][k]}", "%{[@metadata][nested]}",
    "x %{message} y", "%{[tags][0]}-%{[scalar]}-%{[missing][x]}", "%{[ordered]}", "no fields",
])
def test_templates_render_what_get_path_reads(template: str) -> None:
    """Single-reference templates return the reference's function itself; others join
    parts; both must render exactly what reading with get_path gives."""
    from logpipe.core.sprintf import compile_template

    for data, meta in ((dict(DATA), dict(META)), ({}, {}), ({"a": {"b": [1, 2]}, "scalar": 1.5}, {"k": True})):
        e = Event(data, meta)
        assert compile_template(template)(e) == _render_by_get_path(template, e)


ADD_SHAPES: list[dict[str, Any]] = [
    {}, {"a": None}, {"a": 5}, {"a": "s"}, {"a": [1, {"b": 2}]}, {"a": {}}, {"a": {"b": None}},
    {"a": {"b": 1}}, {"a": {"b": [1]}}, {"a": {"b": {"c": 1}}}, {"a": OrderedDict(b=1)},
    {"a": {"b": "x", "c": {"d": None}}},
]


@pytest.mark.parametrize("ref", ["[a]", "[a][b]", "[a][b][c]", "[a][0]", "[a][1][b]", "[a][b][0]",
                                 "[@metadata][k]", "[@metadata][nested][deep]", "[@metadata][n][m]"])
def test_field_adder_adds_as_add_value_does(ref: str) -> None:
    """add_field on a fixed path walks it once; every shape on the way (nulls, scalars,
    lists, dict subclasses, existing values and lists) must end as _add_value leaves it."""
    import copy

    from logpipe.filters.common import _add_value, field_adder

    add = field_adder(parse(ref))
    for data in ADD_SHAPES:
        for value in ("v", ["l"], {"o": 1}):
            ours = Event({"@timestamp": "t", **copy.deepcopy(data)}, copy.deepcopy(META))
            theirs = Event({"@timestamp": "t", **copy.deepcopy(data)}, copy.deepcopy(META))
            add(ours, value)
            add(ours, value)
            _add_value(theirs, parse(ref), value)
            _add_value(theirs, parse(ref), value)
            assert ours == theirs, (ref, data, value)


@pytest.mark.parametrize("pattern", [r"\{", r"^\s*\{", r"a(b)+c?", r"(?:ab)*c", r"(?i:a)b", r"foo\.bar",
                                     r"(?i)x\{", r"[ab]c", r"x|\{", r"(a|\{)+", r"a{0}\{", r"^B"])
@pytest.mark.parametrize("value", ["{", "  {", "abc", "ac", "c", "Ab", "aB", "foo.bar", "fooxbar", "X{",
                                   "x{", "bc", "", "a", "B", "q\nB", 3])
def test_regex_conditions_skipping_values_without_a_needed_character(pattern: str, value: Any) -> None:
    """A literal every match needs is looked for before the regex runs; the answer must
    be what a MULTILINE search gives, for patterns with and without such a character."""
    import re

    found = isinstance(value, str) and re.compile(pattern, re.MULTILINE).search(value) is not None
    e = Event({"f": value, "n": {"f": value}})
    for ref in ("[f]", "[n][f]"):
        assert compile_condition(f"{ref} =~ /{pattern}/")(e) is found
        assert compile_condition(f"{ref} !~ /{pattern}/")(e) is (not found)


@pytest.mark.parametrize("ref", READER_FIELDS)
def test_bare_fields_of_every_depth_answer_what_get_path_gives(ref: str) -> None:
    """``[a][b][c]`` has its own closures too (the sample stage's guard)."""
    shapes = ((dict(DATA), dict(META)), ({}, {}),
              ({"a": None, "tags": "t", "scalar": [1], "ordered": {"inner": [1]}}, {"k": False}),
              ({"a": {"b": [0, 1], "list": "s", "none": {"x": {"y": 3}}}}, {"nested": {"deep": {"x": 4}}}),
              ({"a": {"b": {"c": False, "d": None}, "list": [[1], {"x": False}]}}, {}))
    for data, meta in shapes:
        e = Event(data, meta)
        value = e.get_path(parse(ref))
        truth = value is not None and value is not False
        assert compile_condition(ref)(e) is truth
        assert compile_condition(f"!{ref}")(e) is (not truth)
