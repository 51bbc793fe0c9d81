"""mutate: each operation, on nested fields, in Logstash's order, with failures
confined to the event that caused them."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from logpipe.core.event import Event
from logpipe.errors import ConfigError
from logpipe.filters.common import CommonActions, CommonOptions, apply_common
from logpipe.filters.mutate import MutateFilter

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def mutate(events: list[dict[str, Any]] | dict[str, Any], **options: Any) -> list[Event]:
    if isinstance(events, dict):
        events = [events]
    f = MutateFilter(MutateFilter.Config.model_validate(options), id="m")
    batch = [Event({"@timestamp": T0, **e}) for e in events]
    out = f.process(batch)
    assert out is batch or out == batch   # mutate never drops or adds events
    return out


def one(data: dict[str, Any], **options: Any) -> dict[str, Any]:
    out = mutate(data, **options)[0].data
    out.pop("@timestamp")
    return out


# --- each operation -------------------------------------------------------------------
def test_coerce_fills_null_but_not_missing_or_set() -> None:
    out = one({"a": {"b": None}, "c": "set"},
              coerce={"[a][b]": "default %{c}", "c": "other", "[a][missing]": "x"})
    assert out == {"a": {"b": "default set"}, "c": "set"}


def test_rename_nested_and_templated() -> None:
    out = one({"src": {"ip": "1.2.3.4"}, "kind": "client", "keep": 1},
              rename={"[src][ip]": "[%{kind}][address]", "absent": "nowhere", "keep": "kept"})
    assert out == {"src": {}, "kind": "client", "client": {"address": "1.2.3.4"}, "kept": 1}


def test_rename_overwrites_destination_and_keeps_null_values() -> None:
    out = one({"a": None, "b": "old"}, rename={"a": "b"})
    assert out == {"b": None}


def test_update_only_touches_existing_fields() -> None:
    out = one({"http": {"method": "get"}, "who": "bob"},
              update={"[http][method]": "POST by %{who}", "[http][missing]": "x"})
    assert out == {"http": {"method": "POST by bob"}, "who": "bob"}


def test_replace_sets_or_creates() -> None:
    out = one({"message": "raw", "host": "h1"},
              replace={"message": "%{host}: new", "[event][kind]": "event", "n": 5})
    assert out == {"message": "h1: new", "host": "h1", "event": {"kind": "event"}, "n": 5}


def test_replace_with_missing_reference_keeps_the_template_text() -> None:
    assert one({}, replace={"x": "%{[no][such]}"}) == {"x": "%{[no][such]}"}


@pytest.mark.parametrize(("kind", "value", "expected"), [
    ("integer", "42", 42),
    ("integer", " -7 ", -7),
    ("integer", "1,000", 1000),
    ("integer", "3.99", 3),
    ("integer", "-2.7", -2),
    ("integer", "1e3", 1000),
    ("integer", "0x1A", 26),
    ("integer", "-0x1A", -26),
    ("integer", 3.99, 3),
    ("integer", True, 1),
    ("integer", False, 0),
    ("integer", 12, 12),
    ("integer_eu", "1.000", 1000),
    ("integer_eu", "1.000,9", 1000),
    ("float", "1,000.5", 1000.5),
    ("float", "2", 2.0),
    ("float", 3, 3.0),
    ("float", True, 1.0),
    ("float_eu", "1.000,5", 1000.5),
    ("float_eu", "0,25", 0.25),
    ("string", 12, "12"),
    ("string", 1.5, "1.5"),
    ("string", True, "true"),
    ("string", "same", "same"),
    ("boolean", "true", True),
    ("boolean", "T", True),
    ("boolean", "yes", True),
    ("boolean", "y", True),
    ("boolean", "1", True),
    ("boolean", "1.0", True),
    ("boolean", 1, True),
    ("boolean", 1.0, True),
    ("boolean", "false", False),
    ("boolean", "F", False),
    ("boolean", "no", False),
    ("boolean", "n", False),
    ("boolean", "0", False),
    ("boolean", "0.0", False),
    ("boolean", "", False),
    ("boolean", 0, False),
    ("boolean", False, False),
])
def test_convert(kind: str, value: Any, expected: Any) -> None:
    out = one({"a": {"v": value}}, convert={"[a][v]": kind})
    assert out["a"]["v"] == expected
    assert type(out["a"]["v"]) is type(expected)
    assert "tags" not in out


def test_convert_lists_element_wise_and_leaves_objects_and_nulls() -> None:
    out = one({"l": ["1", None, "2.5"], "o": {"x": "1"}, "z": None},
              convert={"l": "float", "o": "integer", "z": "integer", "missing": "integer"})
    assert out == {"l": [1.0, None, 2.5], "o": {"x": "1"}, "z": None}


@pytest.mark.parametrize(("kind", "value"), [
    ("integer", "abc"), ("integer", "1_000"), ("float", "NaN"), ("float", "inf"),
    ("integer", "12abc"), ("boolean", "maybe"), ("boolean", 2), ("float", ""),
])
def test_convert_failure_tags_and_leaves_value(kind: str, value: Any) -> None:
    out = one({"v": value}, convert={"v": kind}, add_tag=["converted"])
    assert out["v"] == value
    assert out["tags"] == ["_mutate_error"]   # common options skipped on failure


def test_unknown_conversion_is_a_config_error() -> None:
    with pytest.raises(ValidationError):
        MutateFilter.Config.model_validate({"convert": {"a": "int"}})


def test_gsub_flat_list_and_triples() -> None:
    data = {"path": "/a/b/c", "n": {"msg": "x-1 y-22"}}
    flat = one(dict(data), gsub=["path", "/", "_", "[n][msg]", r"\d+", "#"])
    triples = one(dict(data), gsub=[["path", "/", "_"], ["[n][msg]", r"\d+", "#"]])
    assert flat == triples == {"path": "_a_b_c", "n": {"msg": "x-# y-#"}}


def test_gsub_group_references_ruby_style() -> None:
    out = one({"who": "joe@example"},
              gsub=["who", r"(\w+)@(?<host>\w+)", r"\k<host>:\1 [\0] \\ \d"])
    assert out["who"] == r"example:joe [joe@example] \ \d"


def test_gsub_lists_of_strings_and_other_types() -> None:
    out = one({"l": ["a.b", 3, "c.d"], "n": 5}, gsub=["l", r"\.", "-", "n", "5", "6"])
    assert out == {"l": ["a-b", 3, "c-d"], "n": 5}


def test_gsub_templates_in_pattern_and_replacement() -> None:
    out = mutate([{"m": "drop-me keep", "word": "drop-me", "with": "X"},
                  {"m": "a b", "word": "b", "with": "Y"}],
                 gsub=["m", "%{word}", "<%{with}>"])
    assert [e.data["m"] for e in out] == ["<X> keep", "a <Y>"]


def test_gsub_bad_template_pattern_fails_only_that_event() -> None:
    out = mutate([{"m": "x", "word": "("}, {"m": "x", "word": "x"}], gsub=["m", "%{word}", "y"])
    assert out[0].data["tags"] == ["_mutate_error"] and out[0].data["m"] == "x"
    assert out[1].data["m"] == "y" and "tags" not in out[1].data


def test_gsub_config_errors() -> None:
    with pytest.raises(ValidationError):
        MutateFilter.Config.model_validate({"gsub": ["a", "b"]})
    with pytest.raises(ValidationError):
        MutateFilter.Config.model_validate({"gsub": [["a", "b"]]})
    with pytest.raises(ConfigError):
        MutateFilter(MutateFilter.Config(gsub=["a", "(", "x"]), id="m")
    with pytest.raises(ConfigError):
        MutateFilter(MutateFilter.Config(gsub=["a", "(x)", r"\2"]), id="m")


def test_case_operations() -> None:
    out = one({"a": {"u": "MiXed"}, "l": ["AbC", 1, None], "c": "hELLO wORLD", "n": 5},
              uppercase=["[a][u]"], lowercase=["l", "missing"], capitalize=["c", "n"])
    assert out == {"a": {"u": "MIXED"}, "l": ["abc", 1, None], "c": "Hello world", "n": 5}


def test_strip_strings_and_lists() -> None:
    out = one({"s": "  x \t", "l": [" a ", 2], "n": {"s": "\n y\n"}}, strip=["s", "l", "[n][s]"])
    assert out == {"s": "x", "l": ["a", 2], "n": {"s": "y"}}


def test_single_string_for_list_settings() -> None:
    assert one({"s": " x "}, strip="s") == {"s": "x"}


def test_split() -> None:
    out = one({"h": "www.example.com", "csv": "a,b,,", "n": 5, "c": "ab"},
              split={"h": ".", "csv": ",", "n": ",", "c": ""})
    assert out == {"h": ["www", "example", "com"], "csv": ["a", "b"], "n": 5, "c": ["a", "b"]}


def test_join() -> None:
    out = one({"l": ["a", 1, True, None, 2.5], "s": "str", "n": {"l": ["x", "y"]}},
              join={"l": ",", "s": ",", "[n][l]": " / "})
    assert out == {"l": "a,1,true,,2.5", "s": "str", "n": {"l": "x / y"}}


def test_merge_arrays_strings_and_objects() -> None:
    out = one({"d": ["a"], "s": "b", "t": "c", "u": ["d", "e"],
               "o": {"x": 1}, "p": {"y": 2}, "new": None},
              merge={"d": ["s", "u", "missing"], "t": "s", "o": "p", "fresh": "s"})
    assert out["d"] == ["a", "b", "d", "e"]
    assert out["t"] == ["c", "b"]
    assert out["o"] == {"x": 1, "y": 2}
    assert out["fresh"] == ["b"]
    assert "tags" not in out


def test_merge_object_into_list_fails() -> None:
    out = one({"d": ["a"], "o": {"x": 1}}, merge={"d": "o"})
    assert out["d"] == ["a"] and out["tags"] == ["_mutate_error"]


def test_copy_is_deep() -> None:
    f = MutateFilter(MutateFilter.Config.model_validate({"copy": {"[a][b]": "[c][d]", "none": "x"}}),
                     id="m")
    event = Event({"a": {"b": {"list": [1]}}})
    f.process([event])
    assert event.get("[c][d]") == {"list": [1]}
    event.get("[c][d]")["list"].append(2)
    assert event.get("[a][b][list]") == [1]
    assert not event.contains("x")


def test_metadata_fields_work_like_any_other() -> None:
    f = MutateFilter(MutateFilter.Config(rename={"[@metadata][raw]": "message"},
                                         add_field={"[@metadata][index]": "logs-%{kind}"}), id="m")
    event = Event({"kind": "app"}, {"raw": "line"})
    f.process([event])
    assert event.data["message"] == "line"
    assert event.metadata == {"index": "logs-app"}


# --- order, failures, batches ---------------------------------------------------------
def test_operations_follow_logstash_order() -> None:
    # Written in reverse; run as coerce, rename, update, replace, convert, gsub,
    # uppercase, capitalize, lowercase, strip, split, join, merge, copy. Each step
    # reads what the one before it left, so any other order gives another result.
    out = one({"a": None, "b": "x"}, **{
        "copy": {"joined": "copied"},
        "merge": {"joined": "b2"},
        "join": {"c": "|"},
        "split": {"c": ", "},
        "strip": ["c"],
        "lowercase": ["c"],
        "capitalize": ["c"],
        "uppercase": ["c"],
        "gsub": ["c", "7", "8, 9, "],
        "convert": {"num": "integer"},
        "replace": {"c": "%{b}7", "num": "5"},
        "update": {"b2": "%{b2}!"},
        "rename": {"a": "b2"},
        "coerce": {"a": "7"},
    })
    assert out == {"b": "x", "b2": "7!", "c": "x8|9,", "num": 5,
                   "joined": ["7!"], "copied": ["7!"]}


def test_failure_stops_later_operations_for_that_event_only() -> None:
    out = mutate([{"n": "bad", "s": "a"}, {"n": "7", "s": "b"}],
                 convert={"n": "integer"}, uppercase=["s"], add_field={"ok": "yes"},
                 tag_on_failure="_conv")
    first, second = (e.data for e in out)
    assert first["n"] == "bad" and first["s"] == "a" and first["tags"] == ["_conv"]
    assert "ok" not in first
    assert second["n"] == 7 and second["s"] == "B" and second["ok"] == "yes"


def test_a_batch_of_many_events() -> None:
    events = [{"n": str(i), "tags": ["t"]} for i in range(1000)]
    out = mutate(events, convert={"n": "integer"}, remove_tag=["t"], add_tag=["x"])
    assert [e.data["n"] for e in out] == list(range(1000))
    assert all(e.data["tags"] == ["x"] for e in out)


def test_unknown_setting_is_rejected() -> None:
    with pytest.raises(ValidationError):
        MutateFilter.Config.model_validate({"renam": {"a": "b"}})


# --- common options -------------------------------------------------------------------
def test_add_field_creates_then_appends() -> None:
    out = one({"host": "h1", "existing": "one", "list": ["x"]},
              add_field={"[meta][from]": "%{host}", "existing": "two", "list": "y",
                         "multi": ["a", "%{host}"], "num": 3})
    assert out["meta"] == {"from": "h1"}
    assert out["existing"] == ["one", "two"]
    assert out["list"] == ["x", "y"]
    assert out["multi"] == ["a", "h1"]
    assert out["num"] == 3


def test_add_and_remove_tags_with_templates() -> None:
    out = one({"tags": ["old", "keep", "drop-h1"], "host": "h1"},
              add_tag=["seen-%{host}", "keep"], remove_tag=["old", "drop-%{host}"])
    assert out["tags"] == ["keep", "seen-h1"]


def test_remove_field_with_templates_and_nesting() -> None:
    out = one({"secret": 1, "a": {"b": 1, "c": 2}, "which": "c", "x_c": 3},
              remove_field=["secret", "[a][%{which}]", "x_%{which}", "absent"])
    assert out == {"a": {"b": 1}, "which": "c"}


def test_common_order_add_field_before_remove_field() -> None:
    # remove_field runs after add_field, so a field added then removed is gone;
    # remove_tag runs after add_tag.
    out = one({}, add_field={"tmp": "1"}, remove_field=["tmp"], add_tag=["t"], remove_tag=["t"])
    assert out == {"tags": []}


def test_common_actions_are_inactive_without_options() -> None:
    assert not CommonActions(CommonOptions()).active
    event = Event({"a": 1})
    apply_common([event], CommonOptions.model_validate({"add_tag": "x"}))
    assert event.tags == ["x"]


def test_add_field_renders_values_before_making_the_path() -> None:
    """A value naming the field's own parent reads it as it was before the add; object
    values are copied per event; a templated name still adds to the rendered field."""
    f = MutateFilter(MutateFilter.Config.model_validate({"add_field": {
        "[a][b]": "%{[a]}", "[obj][o]": {"k": [1]}, "[by_%{kind}][n]": 1}}), id="m")
    first, second = f.process([Event({"kind": "x"}), Event({"kind": "y", "a": {"z": 1}})])
    assert first.data["a"] == {"b": "%{[a]}"}
    assert second.data["a"] == {"z": 1, "b": '{"z":1}'}
    first.data["obj"]["o"]["k"].append(2)
    assert second.data["obj"]["o"] == {"k": [1]}
    assert first.data["by_x"] == {"n": 1} and second.data["by_y"] == {"n": 1}
