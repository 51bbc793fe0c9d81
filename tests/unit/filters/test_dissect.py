"""The dissect filter."""
from __future__ import annotations

import pytest

from logpipe.core.event import Event
from logpipe.errors import ConfigError
from logpipe.filters.dissect import DissectFilter


def dissect(mapping, *messages, **options) -> list[Event]:
    f = DissectFilter(DissectFilter.Config(mapping=mapping, **options), id="d")
    return f.process([Event({"message": m}) for m in messages])


def test_fields_between_delimiters_and_last_takes_rest() -> None:
    [e] = dissect({"message": '%{client} - %{user} [%{ts}] "%{request}" %{rest}'},
                  '10.0.0.1 - bob [15/Jan/2024:10:00:00 +0000] "GET / HTTP/1.1" 200 5')
    assert (e.get("client"), e.get("user"), e.get("ts"), e.get("request"), e.get("rest")) == (
        "10.0.0.1", "bob", "15/Jan/2024:10:00:00 +0000", "GET / HTTP/1.1", "200 5")


def test_leading_delimiter_must_match() -> None:
    [ok, bad] = dissect({"message": "[%{level}] %{msg}"}, "[INFO] started", "INFO started")
    assert ok.get("level") == "INFO" and ok.get("msg") == "started"
    assert bad.tags == ["_dissectfailure"] and not bad.contains("level")


def test_skip_fields_store_nothing() -> None:
    [e] = dissect({"message": "%{} %{?pid} %{msg}"}, "host 123 hello")
    assert e.get("msg") == "hello" and set(e.data) == {"message", "@timestamp", "msg"}


def test_append_joins_in_order_and_by_ordinal() -> None:
    [e] = dissect({"message": "%{ts} %{+ts} %{+ts} %{msg}"}, "Jan 5 10:00:00 up")
    assert e.get("ts") == "Jan 5 10:00:00"
    [e] = dissect({"message": "%{+name/2} %{+name/1}"}, "Doe John")
    assert e.get("name") == "John Doe"
    [e] = dissect({"message": "%{a} %{+a}"}, "x y", append_separator="-")
    assert e.get("a") == "x-y"


def test_indirect_field_names() -> None:
    [e] = dissect({"message": "%{?key}=%{&key} %{msg}"}, "user=alice logged in")
    assert e.get("user") == "alice" and e.get("msg") == "logged in"


def test_indirect_names_cannot_hit_reserved_fields() -> None:
    [e] = dissect({"message": "%{?k}=%{&k}"}, "@timestamp=x")
    assert not isinstance(e.get("@timestamp"), str)


def test_right_padding_skips_repeated_delimiters() -> None:
    [e] = dissect({"message": "%{level->} %{msg}"}, "INFO     ready now")
    assert e.get("level") == "INFO" and e.get("msg") == "ready now"
    [e] = dissect({"message": "%{level} %{msg}"}, "INFO   ready")
    assert e.get("msg") == "  ready"


def test_nested_field_references() -> None:
    [e] = dissect({"message": "%{[http][method]} %{url.path}"}, "GET /x")
    assert e.get("[http][method]") == "GET" and e.get("[url][path]") == "/x"


def test_convert_datatype() -> None:
    [e] = dissect({"message": "%{status} %{bytes} %{time} %{who}"}, "200 512 0.25 bob",
                  convert_datatype={"status": "int", "bytes": "int", "time": "float", "who": "int"})
    assert (e.get("status"), e.get("bytes"), e.get("time"), e.get("who")) == (200, 512, 0.25, "bob")


def test_custom_failure_tags_and_non_string_source() -> None:
    f = DissectFilter(DissectFilter.Config(mapping={"message": "%{a}|%{b}"},
                                           tag_on_failure=["nodissect"]), id="d")
    e1, e2 = f.process([Event({"message": "no pipe"}), Event({"message": 5})])
    assert e1.tags == ["nodissect"] and e2.tags == ["nodissect"]


def test_add_tag_only_on_success() -> None:
    ok, bad = dissect({"message": "%{a}|%{b}"}, "1|2", "12", add_tag=["dissected"])
    assert ok.tags == ["dissected"] and bad.tags == ["_dissectfailure"]


def test_fields_without_delimiter_between_load_but_never_match() -> None:
    [e] = dissect({"message": "%{a}%{b} %{c}"}, "foo bar baz")
    assert e.tags == ["_dissectfailure"] and not e.contains("a")


@pytest.mark.parametrize("pattern", ["no fields", "%{+}", "%{[bad}", "%{+&x}", "%{&+x}", "%{+/2}"])
def test_bad_patterns_are_config_errors(pattern: str) -> None:
    with pytest.raises(ConfigError):
        DissectFilter(DissectFilter.Config(mapping={"message": pattern}), id="d")


def test_append_joins_with_the_delimiter_before_each_part() -> None:
    [e] = dissect({"message": "%{key}-%{+key}-%{+key}"}, "1-2-3")
    assert e.get("key") == "1-2-3"
    [e] = dissect({"message": "%{+a/3} %{+a/1} %{+a/2}"}, "1 2 3")
    assert e.get("a") == "2 3 1"


def test_one_failing_mapping_does_not_stop_the_others() -> None:
    f = DissectFilter(DissectFilter.Config(mapping={"message": "%{a}|%{b}", "other": "%{c} %{d}"},
                                           add_tag=["ok"]), id="d")
    [e] = f.process([Event({"message": "no pipe", "other": "x y"})])
    assert (e.get("c"), e.get("d")) == ("x", "y") and not e.contains("a")
    assert e.tags == ["_dissectfailure", "ok"]


def test_big_numbers_are_kept_exactly_and_still_serialize() -> None:
    from decimal import Decimal

    import orjson

    from logpipe.core.codec import dumps
    [e] = dissect({"message": "%{i} %{f} %{huge} %{small}"},
                  "43947404257507186289 43947404257507186289.345324 1e999999999 7",
                  convert_datatype={"i": "int", "f": "float", "huge": "int", "small": "int"})
    assert e.get("i") == 43947404257507186289 and isinstance(e.get("i"), Decimal)
    assert e.get("f") == Decimal("43947404257507186289.345324")
    assert e.get("small") == 7 and type(e.get("small")) is int
    assert e.get("huge") == "1e999999999" and e.tags == ["_dataconversionuncoercible_huge_int"]
    doc = dumps(e.data)
    assert b'"i":43947404257507186289,' in doc and b'"f":43947404257507186289.345324' in doc
    assert orjson.loads(doc)["small"] == 7


def test_conversion_of_absent_or_odd_values_tags() -> None:
    f = DissectFilter(DissectFilter.Config(convert_datatype={"n": "float", "b": "int", "x": "INT"}), id="d")
    [e] = f.process([Event({"b": True, "x": " 5"})])
    assert e.tags == ["_dataconversionnullvalue_n_float", "_dataconversionuncoercible_b_int",
                      "_dataconversionuncoercible_x_INT"]
    assert e.get("b") is True and e.get("x") == " 5"
