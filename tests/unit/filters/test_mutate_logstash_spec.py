"""mutate against cases of logstash-filter-mutate's spec suite, written as Logstash
options (flat [key, value] lists for hashes) through the ``.conf`` hooks."""
from __future__ import annotations

from typing import Any

import pytest

from logpipe.core.event import Event
from logpipe.filters.mutate import MutateFilter


def ls(data: dict[str, Any], **options: Any) -> dict[str, Any]:
    cfg = MutateFilter.Config
    config = cfg.model_validate(cfg.from_logstash({**cfg.logstash_defaults, **options}))
    event = Event(data)
    MutateFilter(config, id="m").process([event])
    out = dict(event.data)
    out.pop("@timestamp")
    return out


def test_basics() -> None:
    out = ls({"lowerme": "example", "Lowerme": "ExAmPlE", "lowerMe": ["ExAmPlE", "example"],
              "upperMe": ["ExAmPlE", "EXAMPLE"], "intme": ["1234", "7890.4", "7.9"],
              "floatme": ["1234.455"], "rename1": ["hello world"], "updateme": ["who cares"],
              "replaceme": ["who cares"]},
             lowercase=["lowerme", "Lowerme", "lowerMe"], uppercase=["upperMe"],
             convert=["intme", "integer", "floatme", "float"], rename=["rename1", "rename2"],
             replace=["replaceme", "hello world", "newfield", "newnew"],
             update=["nosuchfield", "weee", "updateme", "updated"])
    assert out == {"lowerme": "example", "Lowerme": "example", "lowerMe": ["example", "example"],
                   "upperMe": ["EXAMPLE", "EXAMPLE"], "intme": [1234, 7890, 7],
                   "floatme": [1234.455], "rename2": ["hello world"], "updateme": "updated",
                   "replaceme": "hello world", "newfield": "newnew"}


def test_remove_field_nested_missing_and_metadata() -> None:
    event = Event({"remove-me": "Goodbye!", "remove-me2": 1234, "diedie": [1, 2],
                   "survivor": "Hello.", "one": {"two": "wee"}}, {"drop": 1, "keep": 2})
    cfg = MutateFilter.Config
    f = MutateFilter(cfg.model_validate(cfg.from_logstash({"remove_field": [
        "remove-me", "remove-me2", "diedie", "[one][two]", "[foo][bar]", "[@metadata][drop]"]})),
        id="m")
    f.process([event])
    assert {k: v for k, v in event.data.items() if k != "@timestamp"} == {
        "survivor": "Hello.", "one": {}}
    assert event.metadata == {"keep": 2}


def test_convert_string_and_booleans() -> None:
    assert ls({"unicorns": 1234}, convert=["unicorns", "string"]) == {"unicorns": "1234"}
    values = {"t": "true", "f": "false", "T": "True", "F": "False", "one": "1", "zero": "0",
              "yes": "yes", "no": "no", "y": "Y", "n": "N"}
    out = ls(dict(values), convert={k: "boolean" for k in values})
    assert out == {"t": True, "f": False, "T": True, "F": False, "one": True, "zero": False,
                   "yes": True, "no": False, "y": True, "n": False}


def test_gsub_cases() -> None:
    assert ls({"u": "Magnificient, but extinct, animals"},
              gsub=["u", "but extinct", "and common"]) == {"u": "Magnificient, and common, animals"}
    assert ls({"colors": "One red car", "shapes": "Four red squares"},
              gsub=["colors", "red", "blue", "shapes", "square", "circle"]) == {
        "colors": "One blue car", "shapes": "Four red circles"}
    assert ls({"colors": "red3"}, gsub=["colors", r"\d$", "blue"]) == {"colors": "redblue"}
    assert ls({"u": "Unicorns of type blue are common", "c": "blue"},
              gsub=["u", "of type %{c}", "%{c} and green"])["u"] == (
        "Unicorns blue and green are common")


def test_rename_missing_field_does_nothing() -> None:
    assert ls({"message": "whatever"}, rename=["nosuchfield", "hello"]) == {"message": "whatever"}


def test_convert_nested_and_within_arrays() -> None:
    assert ls({"foo": {"bar": "1000"}}, convert=["[foo][bar]", "integer"]) == {"foo": {"bar": 1000}}
    assert ls({"foo": ["100", "200"]}, convert=["[foo][0]", "integer"]) == {"foo": [100, "200"]}


def test_merge_cases() -> None:
    cases = [({"foo": "bar"}, ["bar"]), ({"foo": "bar", "list": []}, ["bar"]),
             ({"foo": "bar", "list": ["baz"]}, ["baz", "bar"]),
             ({"foo": ["bar"], "list": ["baz"]}, ["baz", "bar"]),
             ({"foo": [], "list": ["baz"]}, ["baz"]),
             ({"foo": ["bar"], "list": "baz"}, ["baz", "bar"]),
             ({"foo": "bar", "list": "baz"}, ["baz", "bar"])]
    for data, expected in cases:
        out = ls(dict(data), merge=["list", "foo"])
        assert out["list"] == expected and out["foo"] == data["foo"]


def test_split_on_a_space_is_ruby_awk_style() -> None:
    assert ls({"a": "  x  y "}, split={"a": " "}) == {"a": ["x", "y"]}


def test_copy_skips_null_values() -> None:
    assert ls({"a": None, "b": 1}, copy={"a": "b"}) == {"a": None, "b": 1}


def test_options_without_effect_are_accepted() -> None:
    assert ls({"a": "x"}, uppercase="a", enable_metric=False, periodic_flush=False) == {"a": "X"}


def test_case_changes_are_unicode_aware() -> None:
    out = ls({"lowerme": ["АБВГД\0MMM", "こにちわ", "XyZółć", "NÎcË GÛŸ"],
              "upperme": ["аБвгд\0mmm", "こにちわ", "xYzółć", "Nîcë gûÿ"],
              "capitalizeme": ["АБВГД\0mmm", "こにちわ", "xyzółć", "nÎcË gÛŸ"]},
             lowercase=["lowerme"], uppercase=["upperme"], capitalize=["capitalizeme"])
    assert out == {"lowerme": ["абвгд\0mmm", "こにちわ", "xyzółć", "nîcë gûÿ"],
                   "upperme": ["АБВГД\0MMM", "こにちわ", "XYZÓŁĆ", "NÎCË GÛŸ"],
                   "capitalizeme": ["Абвгд\0mmm", "こにちわ", "Xyzółć", "Nîcë gûÿ"]}


BIG = "680564693277057720000000000000000000000"


@pytest.mark.parametrize(("value", "expected"), [
    (123, "123"), (123.0, "123.0"), ("0x7b", "0x7b"), ("1.230000e+02", "1.230000e+02"),
    (123.45, "123.45"), (1.6777217e7, "16777217.0"), (2.147483648e9, "2147483648.0"),
    (9007199254740993, "9007199254740993"), (1e16, "1.0e+16"),
])
def test_convert_to_string(value: Any, expected: str) -> None:
    assert ls({"a": value}, convert={"a": "string"})["a"] == expected


@pytest.mark.parametrize(("value", "expected"), [
    (123, 123), (123.0, 123), ("123", 123), ("0x7b", 123), ("123.0", 123),
    ("1.230000e+02", 123), (123.45, 123), ("123.45", 123), ("1.234500e+02", 123),
    ("0x1.edcdp6", 123), (-123.45, -123), ("-123.45", -123), ("-1.234500e+02", -123),
    ("-0x1.edcdp6", -123), (1.6777217e7, 16777217), ("16777217.0", 16777217),
    (2.147483648e9, 2147483648), ("9007199254740993", 9007199254740993),
    ("9007199254740993.0", 9007199254740993), ("9.007199254740993e+15", 9007199254740993),
    ("9223372036854775808", 9223372036854775808),
    ("9223372036854775808.0", 9223372036854775808), (BIG, int(BIG)), (BIG + ".0", int(BIG)),
])
def test_convert_to_integer(value: Any, expected: int) -> None:
    out = ls({"a": value}, convert={"a": "integer"})["a"]
    assert out == expected and type(out) is int


@pytest.mark.parametrize(("value", "expected"), [
    (123, 123.0), ("0x7b", 123.0), ("1.230000e+02", 123.0), ("0x1.edcdp6", 123.4501953125),
    ("-0x1.edcdp6", -123.4501953125), ("9007199254740993", 9.007199254740992e15),
    ("9223372036854775808.0", 9.223372036854775808e18), (BIG, 6.805646932770577e+38),
    ("3,141.5926", 3141.5926), ("3,141", 3141.0), (True, 1.0), (False, 0.0),
])
def test_convert_to_float(value: Any, expected: float) -> None:
    out = ls({"a": value}, convert={"a": "float"})["a"]
    assert out == pytest.approx(expected) and type(out) is float


@pytest.mark.parametrize(("value", "expected"), [
    ("3141,5926", 3141.5926), ("3.141,5926", 3141.5926), ("3.141", 3141.0), ("3141", 3141.0),
])
def test_convert_to_float_eu(value: str, expected: float) -> None:
    assert ls({"a": value}, convert={"a": "float_eu"})["a"] == pytest.approx(expected)
