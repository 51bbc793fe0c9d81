"""The json filter."""
from __future__ import annotations

from datetime import datetime, timezone

from logpipe.core.event import Event
from logpipe.filters.json import JsonFilter


def decode(value, **options) -> Event:
    options.setdefault("source", "message")
    f = JsonFilter(JsonFilter.Config(**options), id="j")
    [e] = f.process([Event({"message": value})])
    return e


def test_object_is_merged_into_the_root() -> None:
    e = decode('{"service": {"name": "api"}, "log.level": "info", "n": 3}')
    assert e.get("[service][name]") == "api" and e.data["log.level"] == "info" and e.get("n") == 3


def test_timestamp_and_metadata_are_routed() -> None:
    e = decode('{"@timestamp": "2024-01-15T10:00:00Z", "@metadata": {"index": "x"}}')
    assert e.get("@timestamp") == datetime(2024, 1, 15, 10, tzinfo=timezone.utc)
    assert e.metadata == {"index": "x"} and "@metadata" not in e.data


def test_bad_timestamp_is_kept_aside_and_tagged() -> None:
    e = decode('{"@timestamp": "yesterday"}')
    assert e.get("_@timestamp") == "yesterday" and "_timestampparsefailure" in e.tags
    assert isinstance(e.get("@timestamp"), datetime)


def test_target_takes_any_json_value() -> None:
    assert decode("[1, 2]", target="items").get("items") == [1, 2]
    assert decode('{"a": 1}', target="[doc][body]").get("[doc][body][a]") == 1


def test_non_object_without_target_is_tagged() -> None:
    assert decode('"just a string"').tags == ["_jsonparsefailure"]


def test_invalid_json_and_invalid_utf8_are_tagged() -> None:
    assert decode("{nope").tags == ["_jsonparsefailure"]
    assert decode(b'{"a": "\xff"}').tags == ["_jsonparsefailure"]
    assert decode("\udcff").tags == ["_jsonparsefailure"]
    assert decode(b'{"a": "caf\xc3\xa9"}').get("a") == "café"


def test_skip_on_invalid_json_and_custom_tags() -> None:
    e = decode("{nope", skip_on_invalid_json=True)
    assert "tags" not in e.data
    assert decode("{nope", tag_on_failure=["badjson"]).tags == ["badjson"]


def test_non_text_source_is_left_alone() -> None:
    e = decode({"already": "parsed"})
    assert "tags" not in e.data and not e.contains("already")
