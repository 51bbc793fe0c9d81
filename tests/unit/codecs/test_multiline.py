"""The multiline codec: previous/next, negate, grok patterns, limits, per-stream state, idle flush."""
from __future__ import annotations

import time

import pytest

from logpipe.codecs import build, spec
from logpipe.errors import ConfigError


def gather(options: dict[str, object], lines: list[str]) -> list[tuple[str, list[str]]]:
    stream = build("multiline", options).stream()
    events = stream.feed("".join(line + "\n" for line in lines).encode()) + stream.flush()
    return [(e.data["message"], e.tags) for e in events]


def test_indented_lines_join_the_previous_one() -> None:
    got = gather({"pattern": r"^\s", "what": "previous"},
                 ["hello world", "   second line", "another first line"])
    assert got == [("hello world\n   second line", ["multiline"]), ("another first line", [])]


def test_lines_ending_in_backslash_join_the_next_one() -> None:
    got = gather({"pattern": r"\\$", "what": "next"},
                 ["hello world \\", "second line \\", "third line", "fourth line"])
    assert got == [("hello world \\\nsecond line \\\nthird line", ["multiline"]), ("fourth line", [])]


def test_negate_with_a_grok_pattern_gathers_a_stack_trace() -> None:
    lines = ["2024-05-01T10:00:00Z ERROR boom", "Traceback (most recent call last):",
             '  File "x.py", line 1', "ValueError: bad", "2024-05-01T10:00:01Z INFO fine"]
    got = gather({"pattern": "^%{TIMESTAMP_ISO8601} ", "negate": True, "what": "previous"}, lines)
    assert [m for m, _ in got] == ["\n".join(lines[:4]), lines[4]]
    assert got[0][1] == ["multiline"]


def test_custom_tag_and_lines_split_across_chunks() -> None:
    stream = build("multiline", {"pattern": r"^\s", "what": "previous", "multiline_tag": "joined"}).stream()
    out = stream.feed(b"first\n  con") + stream.feed(b"tinued\nsecond\n")
    assert [(e.data["message"], e.tags) for e in out] == [("first\n  continued", ["joined"])]
    assert [e.data["message"] for e in stream.flush()] == ["second"]


def test_max_lines_cuts_and_tags_without_losing_lines() -> None:
    lines = ["- start"] + [f"- part {i}" for i in range(25)]
    got = gather({"pattern": "^-", "what": "previous", "max_lines": 10}, lines)
    assert sum(len(m.split("\n")) for m, _ in got) == len(lines)
    assert "multiline_codec_max_lines_reached" in got[0][1]


def test_max_bytes_cuts_and_tags() -> None:
    lines = ["- " + "x" * 20 for _ in range(12)]
    got = gather({"pattern": "^-", "what": "previous", "max_bytes": "60 b", "max_lines": 20000}, lines)
    assert sum(len(m.split("\n")) for m, _ in got) == len(lines)
    assert "multiline_codec_max_bytes_reached" in got[0][1]
    assert spec({"type": "multiline", "pattern": "x", "what": "next", "max_bytes": "10 MiB"}).build() \
        .config.max_bytes == 10 * 1024 * 1024


def test_each_stream_keeps_its_own_state() -> None:
    codec = build("multiline", {"pattern": r"^\s", "what": "previous"})
    a, b = codec.stream(), codec.stream()
    out = a.feed(b"A1\n") + b.feed(b"B1\n") + a.feed(b" A2\n") + b.feed(b" B2\n") + a.flush() + b.flush()
    assert sorted(e.data["message"] for e in out) == ["A1\n A2", "B1\n B2"]


def test_auto_flush_interval_sends_a_quiet_stream_s_pending_event() -> None:
    stream = build("multiline", {"pattern": r"^\s", "what": "previous", "auto_flush_interval": 0.5}).stream()
    assert stream.feed(b"only line\n  and its tail\n") == []
    assert stream.idle(time.monotonic()) == []          # not quiet long enough yet
    events = stream.idle(time.monotonic() + 1)
    assert [e.data["message"] for e in events] == ["only line\n  and its tail"]
    assert stream.flush() == []


def test_without_auto_flush_idle_sends_nothing() -> None:
    stream = build("multiline", {"pattern": r"^\s", "what": "previous"}).stream()
    stream.feed(b"x\n")
    assert stream.idle(time.monotonic() + 3600) == []


def test_invalid_utf8_is_replaced_and_tagged() -> None:
    stream = build("multiline", {"pattern": r"^\s", "what": "previous"}).stream()
    events = stream.feed(b"bad \xff\n ok\nnext\n")
    assert events[0].data["message"] == "bad \ufffd\n ok"
    assert "_utf8error" in events[0].tags


@pytest.mark.parametrize("options, problem", [
    ({"what": "previous"}, "pattern"),
    ({"pattern": "x"}, "what"),
    ({"pattern": "x", "what": "sideways"}, "what"),
    ({"pattern": "%{NOSUCHPATTERN}", "what": "next"}, "NOSUCHPATTERN"),
    ({"pattern": "x", "what": "next", "max_bytes": "lots"}, "max_bytes"),
])
def test_bad_options_are_config_errors(options: dict[str, object], problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        build("multiline", options)


def test_multiline_cannot_encode() -> None:
    with pytest.raises(ConfigError, match="cannot encode"):
        build("multiline", {"pattern": "x", "what": "next"}).check("encode")
