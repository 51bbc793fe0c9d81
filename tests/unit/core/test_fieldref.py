from __future__ import annotations

from datetime import datetime

import pytest

from logpipe.core.event import Event
from logpipe.core.fieldref import parse, render
from logpipe.errors import ConfigError


@pytest.mark.parametrize(
    ("ref", "path"),
    [
        ("message", ("message",)),
        ("@timestamp", ("@timestamp",)),
        ("[http][response][status_code]", ("http", "response", "status_code")),
        ("http.response.status_code", ("http", "response", "status_code")),
        ("[a.b]", ("a.b",)),
        ("[@metadata][kafka][offset]", ("@metadata", "kafka", "offset")),
    ],
)
def test_parse_both_spellings(ref: str, path: tuple[str, ...]) -> None:
    assert parse(ref) == path


@pytest.mark.parametrize("bad", ["", "[a", "[a]b", "[]", "a[b]"])
def test_parse_rejects_malformed(bad: str) -> None:
    with pytest.raises(ConfigError):
        parse(bad)


def test_render_is_logstash_spelling() -> None:
    assert render(("a", "b")) == "[a][b]"


def test_get_set_delete_exists_nested() -> None:
    e = Event({"message": "x"})
    assert isinstance(e.data["@timestamp"], datetime)
    e.set("[http][response][status_code]", 503)
    assert e.get("http.response.status_code") == 503
    assert e.contains("[http][response]")
    assert not e.contains("[http][request]")
    assert e.get("[http][request][method]", "none") == "none"
    assert e.delete("http.response.status_code") == 503
    assert not e.contains("http.response.status_code")
    assert e.delete("[no][such]") is None


def test_set_replaces_scalar_on_the_way() -> None:
    e = Event({"a": "scalar"})
    e.set("[a][b]", 1)
    assert e.data["a"] == {"b": 1}


def test_get_into_list_by_index() -> None:
    e = Event({"items": [{"id": 7}]})
    assert e.get("[items][0][id]") == 7
    assert e.get("[items][5][id]") is None


def test_metadata_is_separate_and_not_written() -> None:
    e = Event({"message": "m"})
    e.set("[@metadata][kafka][offset]", 42)
    assert e.get("[@metadata][kafka][offset]") == 42
    assert "@metadata" not in e.to_dict()
    assert e.metadata == {"kafka": {"offset": 42}}


def test_metadata_in_input_dict_moves_aside() -> None:
    e = Event({"message": "m", "@metadata": {"k": 1}})
    assert e.metadata == {"k": 1}
    assert "@metadata" not in e.data


def test_tags() -> None:
    e = Event({"tags": "single"})
    e.add_tag("a", "a", "b")
    assert e.tags == ["single", "a", "b"]
    assert e.has_tag("a")
    e.remove_tag("a")
    assert e.tags == ["single", "b"]


def test_sprintf_fields_and_dates() -> None:
    e = Event({"@timestamp": datetime(2026, 3, 4, 5, 6, 7).astimezone(), "event": {"dataset": "access"},
               "n": 5, "obj": {"k": [1]}})
    e.data["@timestamp"] = datetime.fromisoformat("2026-03-04T05:06:07+00:00")
    assert e.sprintf("logs-%{[event][dataset]}-%{+YYYY.MM.dd}") == "logs-access-2026.03.04"
    assert e.sprintf("%{n}/%{obj}") == '5/{"k":[1]}'
    assert e.sprintf("%{[missing]}") == "%{[missing]}"
    assert e.sprintf("plain") == "plain"


# --- list elements by position ([list][0]), as Logstash field references allow -----------
def test_list_positions_get_set_delete() -> None:
    from logpipe.core.event import Event
    event = Event({"l": ["a", {"k": 1}, ["x", "y"]]})
    assert event.get("[l][0]") == "a" and event.get("[l][-1]") == ["x", "y"]
    event.set("[l][0]", "A")
    event.set("[l][1][k]", 2)
    event.set("[l][2][-1]", "Y")
    event.set("[l][4]", "grown")
    assert event.data["l"] == ["A", {"k": 2}, ["x", "Y"], None, "grown"]
    assert event.delete("[l][2][0]") == "x"
    assert event.delete("[l][9]") is None
    assert event.data["l"] == ["A", {"k": 2}, ["Y"], None, "grown"]


def test_digit_keys_of_objects_stay_keys() -> None:
    from logpipe.core.event import Event
    event = Event({"m": {"0": "zero"}})
    event.set("[m][0]", "changed")
    event.set("[m][1]", "one")
    assert event.data["m"] == {"0": "changed", "1": "one"}
