"""plain, line, json, json_lines, rubydebug and dots: decoding, encoding and their options."""
from __future__ import annotations

from datetime import datetime, timezone

import orjson
import pytest

from logpipe.codecs import build
from logpipe.core.event import Event

T = datetime(2024, 5, 1, 10, 0, 0, tzinfo=timezone.utc)


def ev(**fields: object) -> Event:
    return Event({"@timestamp": T, **fields})


def test_plain_decodes_a_whole_message_and_a_stream_per_line() -> None:
    plain = build("plain")
    assert [e.data["message"] for e in plain.decode(b"one\ntwo")] == ["one\ntwo"]
    stream = plain.stream()
    assert [e.data["message"] for e in stream.feed(b"a\r\nb\n") + stream.flush()] == ["a", "b"]


def test_plain_encodes_format_or_timestamp_host_message() -> None:
    assert build("plain", {"format": "%{host}: %{message}"}).encode(ev(host="h", message="m")) == b"h: m"
    assert build("plain").encode(ev(host="h", message="m")) == b"2024-05-01T10:00:00Z h m"
    assert build("plain").encode(ev(message="m")) == b"2024-05-01T10:00:00Z %{host} m"


def test_line_delimiter_both_ways() -> None:
    line = build("line", {"delimiter": "\\r\\n", "format": "%{message}"})
    assert line.encode_batch([ev(message="a"), ev(message="b")]) == b"a\r\nb\r\n"
    stream = line.stream()
    assert [e.data["message"] for e in stream.feed(b"x\r\ny\r\npartial")] == ["x", "y"]
    assert [e.data["message"] for e in stream.flush()] == ["partial"]
    assert [e.data["message"] for e in build("lines").decode(b"p\nq\n")] == ["p", "q"]


def test_line_too_long_is_cut_tagged_and_the_rest_skipped() -> None:
    stream = build("line", {"max_line_bytes": 16}).stream()
    out = stream.feed(b"short\n" + b"x" * 40) + stream.feed(b"y" * 10 + b"\nafter\n")
    assert [(e.data["message"], e.tags) for e in out] == [
        ("short", []), ("x" * 16, ["_line_too_long"]), ("after", [])]


def test_line_invalid_utf8_is_tagged_not_dropped() -> None:
    events = build("line").decode(b"ok\n\xff\xfe bad\n")
    assert events[1].tags == ["_utf8error"] and events[1].data["message"].endswith(" bad")


def test_json_objects_arrays_and_garbage() -> None:
    js = build("json")
    assert js.decode(b'{"a": 1}')[0].data["a"] == 1
    assert [e.data["n"] for e in js.decode(b'[{"n": 1}, {"n": 2}]')] == [1, 2]
    for bad in (b"{not json", b"42", b'"text"', b"[1, 2]"):
        (e,) = js.decode(bad)
        assert e.tags == ["_jsonparsefailure"] and e.data["message"] == bad.decode()
    (t,) = js.decode(b'{"@timestamp": "2024-05-01T10:00:00Z", "x": 1}')
    assert t.timestamp == T


def test_json_target_puts_the_document_under_a_field() -> None:
    (e,) = build("json", {"target": "doc"}).decode(b'{"a": {"b": 2}}')
    assert e.get("[doc][a][b]") == 2 and "a" not in e.data


def test_json_encodes_without_and_json_lines_with_delimiter() -> None:
    assert orjson.loads(build("json").encode(ev(a=1))) == {"@timestamp": "2024-05-01T10:00:00Z", "a": 1}
    assert not build("json").encode(ev(a=1)).endswith(b"\n")
    batch = build("json_lines").encode_batch([ev(a=1), ev(a=2)])
    assert [orjson.loads(x)["a"] for x in batch.splitlines()] == [1, 2] and batch.endswith(b"\n")
    assert build("json_lines", {"delimiter": "|"}).encode(ev(a=1)).endswith(b"}|")


def test_json_lines_stream_tags_bad_lines_and_keeps_good_ones() -> None:
    stream = build("ndjson").stream()
    out = stream.feed(b'{"a": 1}\nnope\n{"b"') + stream.feed(b': 2}\n')
    assert [e.data.get("a") or e.data.get("b") or e.tags for e in out] == [1, ["_jsonparsefailure"], 2]


def test_json_lines_binary_blob_falls_back_to_text() -> None:
    stream = build("json_lines").stream()
    assert stream.feed(bytes(range(128, 256))) == []        # waits for the newline
    (e,) = stream.feed(b"\n")
    assert e.tags == ["_utf8error", "_jsonparsefailure"] and isinstance(e.data["message"], str)


def test_metadata_never_written_by_json_codecs() -> None:
    e = ev(a=1)
    e.metadata["secret"] = "s"
    for name in ("json", "json_lines"):
        assert b"secret" not in build(name).encode(e)


def test_rubydebug_draws_fields_sorted_and_aligned() -> None:
    e = ev(message="hi", n=3, nested={"k": [1, "two"]}, none=None)
    e.metadata["m"] = "meta"
    text = build("rubydebug").encode(e).decode()
    assert text == (
        '{\n'
        '    "@timestamp" => 2024-05-01T10:00:00Z,\n'
        '       "message" => "hi",\n'
        '             "n" => 3,\n'
        '        "nested" => {\n'
        '        "k" => [\n'
        '            [0] 1,\n'
        '            [1] "two"\n'
        '        ]\n'
        '    },\n'
        '          "none" => nil\n'
        '}\n')
    assert '"@metadata" => {' in build("rubydebug", {"metadata": True}).encode(e).decode()


def test_dots_writes_one_dot_per_event() -> None:
    assert build("dots").encode_batch([ev(), ev(), ev()]) == b"..."


@pytest.mark.parametrize("name", ["rubydebug", "dots"])
def test_output_only_codecs_refuse_to_decode(name: str) -> None:
    from logpipe.errors import ConfigError
    with pytest.raises(ConfigError, match="cannot decode"):
        build(name).check("decode")
