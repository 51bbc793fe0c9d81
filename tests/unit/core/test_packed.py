"""Packed line batches (logpipe.core.packed) give what the event path gives.

The native route replaces, for a whole block of lines, the event path's
``text_events`` -> ``GrokFilter.process`` -> ``json_lines``. It is only allowed
because it writes the same bytes; these tests hold it to that on random blocks,
check that a packed batch is, to everything else, the list of events it stands
for, and that a pipeline takes the route only in the shapes it can reproduce.
"""
from __future__ import annotations

import asyncio
import os
import re
from datetime import datetime, timezone
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logpipe.config import load_text
from logpipe.core.codec import json_lines
from logpipe.core.event import Event
from logpipe.core.packed import LineRoute, PackedLines, count_lines, line_route, text_events
from logpipe.core import packed as packed_module
from logpipe.core.pipeline import Pipeline
from logpipe.filters.grok import GrokFilter

# Part of what CI installs: there a missing module fails the run instead of skipping.
native = (__import__("logpipe_native") if os.environ.get("CI") == "true"
          else pytest.importorskip("logpipe_native"))


def _turn_native_on(patch: pytest.MonkeyPatch) -> None:
    """The route is native or nothing: these tests need the module whatever
    ``LOGPIPE_NATIVE`` says for the rest of the suite (logpipe.core.packed asks
    once, when it is imported)."""
    patch.delenv("LOGPIPE_NATIVE", raising=False)
    patch.setattr(packed_module, "_native", native)


@pytest.fixture(autouse=True)
def _native_on(monkeypatch: pytest.MonkeyPatch) -> None:
    _turn_native_on(monkeypatch)

# --- blocks of lines -------------------------------------------------------------------

#: Characters a line is made of: the ones JSON escapes, control characters,
#: non-ASCII text (two, three and four UTF-8 bytes), and the ones the
#: expressions below look for.
ODD = "\"\\/\t\x00\x01\x08\x0b\x0c\x1b\x1f\x7f\u0080\u00e9\u00a0\u2028\u2029\ufeff\u4e2d😀 "
TEXT = st.text(st.sampled_from(ODD) | st.characters(codec="utf-8", exclude_characters="\n"), max_size=40)

LEVELS = ["INFO", "WARN", "ERROR", "debug", "Notice"]
stamps = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1),
                      timezones=st.just(timezone.utc))


@st.composite
def matching_line(draw: st.DrawFn) -> str:
    """A line the expressions below match (some of their captures empty)."""
    when = draw(stamps).isoformat().replace("+00:00", draw(st.sampled_from(["Z", "+02:00", ""])))
    level = draw(st.sampled_from(LEVELS))
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return f"{when} {level} {draw(TEXT)}"
    if kind == 1:
        return f"{draw(TEXT).replace(chr(34), '')} \"{draw(TEXT).replace(chr(34), '')}\" {draw(st.integers())}"
    if kind == 2:
        return f"é{draw(st.from_regex(r'[A-Za-z0-9_]{1,8}', fullmatch=True))}€{draw(TEXT)}"
    return f"key={draw(TEXT).replace(' ', '')}"


def line() -> st.SearchStrategy[str]:
    return st.one_of(matching_line(), TEXT, st.just(""), st.just("\r"))


@st.composite
def blocks(draw: st.DrawFn) -> str:
    """Text of a block: lines joined by ``\\n``, some ending in ``\\r``, some empty."""
    lines = draw(st.lists(line(), max_size=25))
    ends = draw(st.lists(st.sampled_from(["\n", "\n", "\r\n"]), min_size=len(lines), max_size=len(lines)))
    return "".join(ln + end for ln, end in zip(lines, ends))[:-1] if lines else ""


EXPRESSIONS: list[dict[str, Any]] = [
    {"match": {"message": ["%{TIMESTAMP_ISO8601:when} %{LOGLEVEL:level} %{GREEDYDATA:rest}",
                           "%{DATA:before} %{QS:quoted} %{NUMBER:n}",
                           "é(?<word>\\w+)€(?<tail>.*)",
                           "key=%{NOTSPACE:value}$"]}},
    {"match": {"message": ["^%{WORD:first}\\b(?<sep>[^\\w\\s]*)%{DATA:middle}(?<last>\\S*)$"]},
     "tag_on_failure": ["no \"match\"", "é\\x", "_grokparsefailure"]},
    {"match": {"message": ["(?<a>[\\s\\S]+?)(?<b>\\d{2,})", "(?<any>.)"]}, "tag_on_failure": []},
    {"match": {"message": "%{LOGLEVEL:level}"}},
    {"match": {"message": ["(?:x|)"]}},   # no captures at all
]


def grok_filter(options: dict[str, Any]) -> GrokFilter:
    return GrokFilter(GrokFilter.Config(**options), id="grok-packed")


def event_path(filter: GrokFilter | None, text: str, stamp: datetime) -> bytes:
    events = text_events(text, stamp)
    if filter is not None:
        events = filter.process(events)
    return json_lines(events)


def native_route(filter: GrokFilter | None) -> LineRoute:
    if filter is None:
        return LineRoute(native.LineGrok([], []), None, None)
    transform, why = filter.packed_lines()
    assert transform is not None, why
    return LineRoute(transform, None, None)


@pytest.mark.parametrize("index", range(len(EXPRESSIONS) + 1))
def test_route_writes_what_the_event_path_writes(index: int) -> None:
    options = EXPRESSIONS[index] if index < len(EXPRESSIONS) else None
    route = native_route(grok_filter(options) if options else None)
    filter = grok_filter(options) if options else None

    @settings(max_examples=150, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.lists(blocks(), min_size=1, max_size=3), stamps)
    def run(texts: list[str], stamp: datetime) -> None:
        packs = [PackedLines(t.encode(), stamp, count_lines(t.encode())) for t in texts]
        got = route.run(packs)
        assert got is not None
        bodies, matched, failed = got
        for text, body in zip(texts, bodies):
            assert body == event_path(filter, text, stamp), text
        assert matched + failed == sum(len(p) for p in packs)
        if filter is not None:
            exprs = filter._fields[0][2]
            want_failed = sum(1 for t in texts for e in text_events(t, stamp)
                              if all(x.program.search(e.data["message"], None) is None for x in exprs))
            assert failed == want_failed

    run()


def test_stamp_is_written_as_orjson_writes_it() -> None:
    route = native_route(None)
    for stamp in (datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
                  datetime(2026, 1, 2, 3, 4, 5, 120, tzinfo=timezone.utc)):
        got = route.run([PackedLines(b"x", stamp, 1)])
        assert got is not None
        doc = got[0][0]
        assert doc == orjson.dumps({"@timestamp": stamp, "message": "x"}, option=orjson.OPT_UTC_Z) + b"\n"
        assert doc.startswith(b'{"@timestamp":"2026-01-02T03:04:05')


def test_invalid_utf8_leaves_the_route() -> None:
    route = native_route(grok_filter(EXPRESSIONS[0]))
    assert route.run([PackedLines(b"ok\nbad \xff line", datetime.now(timezone.utc), 2)]) is None
    assert native.LineGrok([], []).docs(b"\xc3", b'"t"') is None


# --- a packed batch is the events it holds ---------------------------------------------

@settings(max_examples=200, deadline=None, database=None)
@given(blocks(), stamps)
def test_packed_lines_is_the_sequence_of_its_events(text: str, stamp: datetime) -> None:
    block = text.encode()
    count = count_lines(block)
    want = text_events(text, stamp)
    assert count == len(want)
    pack = PackedLines(block, stamp, count)
    assert not pack.unpacked
    assert len(pack) == count
    assert not pack.unpacked           # counting does not build the events
    events = list(pack)
    assert pack.unpacked
    assert [e.data for e in events] == [e.data for e in want]
    assert all(isinstance(e, Event) for e in events)
    # Built once: the same objects however they are read.
    assert pack.events() is pack.events()
    for i, event in enumerate(events):
        assert pack[i] is event
        assert pack[i - len(events)] is event
    assert pack[1:] == events[1:]
    assert list(reversed(pack)) == events[::-1]
    if events:
        assert events[0] in pack


@settings(max_examples=200, deadline=None, database=None)
@given(st.binary(max_size=60))
def test_count_lines_on_any_bytes(block: bytes) -> None:
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError:
        assert count_lines(block) == -1
        return
    assert count_lines(block) == len(text_events(text, datetime.now(timezone.utc)))


def test_count_lines_examples() -> None:
    assert count_lines(b"") == 0
    assert count_lines(b"\n\r\n\r") == 0
    assert count_lines(b"a\r\r\nb\n\nc") == 3
    assert count_lines(b"ok\n\xed\xa0\x80") == -1     # an encoded surrogate is not UTF-8
    assert count_lines("é€😀".encode()[:-1]) == -1
    assert count_lines(b"\xc0\xaf") == -1              # overlong


# --- which pipelines take the route ----------------------------------------------------

def pipeline(filters: str = "[]", outputs: str = "[{type: tcp, port: 9}]",
             inputs: str = "[{type: tcp, port: 0}]", settings: str = "{}") -> Pipeline:
    return Pipeline(load_text(f"""
settings: {settings}
inputs: {inputs}
filters: {filters}
outputs: {outputs}
""", source="test.yaml"))


def route_of(p: Pipeline) -> tuple[LineRoute | None, str]:
    return line_route(p.filter_stages, p.output_stages)


GROK = "{type: grok, match: {message: '%{LOGLEVEL:level} %{GREEDYDATA:rest}'}}"


def test_taken_by_one_grok_and_a_json_lines_tcp_output() -> None:
    route, why = route_of(pipeline(f"[{GROK}]"))
    assert route is not None and why == ""
    assert route.filter_stage is not None and route.filter_stage.plugin.id
    route, why = route_of(pipeline("[]"))
    assert route is not None and route.filter_stage is None


@pytest.mark.parametrize("filters, outputs, reason", [
    ("[{type: grok, if: '[a] == 1', match: {message: '%{WORD:w}'}}]", None, "conditional"),
    (f"[{GROK}, {GROK}]", None, "more than one filter"),
    ("[{type: mutate, add_field: {a: b}}]", None, "no native form"),
    (None, "[{type: tcp, port: 9}, {type: tcp, port: 10}]", "more than one output"),
    (None, "[{type: tcp, port: 9, if: '[a] == 1'}]", "does not take packed lines"),
    (None, "[{type: tcp, port: 9, codec: json}]", "does not take packed lines"),
    (None, "[{type: tcp, port: 9, codec: line}]", "does not take packed lines"),
    (None, "[{type: tcp, port: 9, codec: {type: json_lines, delimiter: ';'}}]", "does not take packed lines"),
    (None, "[{type: stdout}]", "does not take packed lines"),
    ("[{type: grok, match: {message: '%{WORD:w}'}, add_tag: [t]}]", None, "add_tag"),
    ("[{type: grok, match: {message: '%{WORD:w}'}, add_field: {a: b}}]", None, "add_field"),
    ("[{type: grok, match: {message: '%{NUMBER:n:float}'}}]", None, "float or bool"),
    ("[{type: grok, match: {message: '%{WORD:b:bool}'}}]", None, "float or bool"),
    ("[{type: grok, match: {message: '%{WORD:message}'}}]", None, "stores into message"),
    ("[{type: grok, match: {message: '%{WORD:[message][x]}'}}]", None, "stores into message"),
    ("[{type: grok, match: {message: '%{WORD:tags}'}}]", None, "stores into tags"),
    ("[{type: grok, match: {message: '%{WORD:@timestamp}'}}]", None, "stores into @timestamp"),
    ("[{type: grok, match: {message: '%{WORD:@metadata}'}}]", None, "@metadata"),
    ("[{type: grok, match: {message: '%{WORD:[@metadata][x]}'}}]", None, "@metadata"),
    ("[{type: grok, match: {message: '%{WORD:w} %{WORD:w}'}}]", None, "two captures into one field"),
    ("[{type: grok, match: {message: '%{WORD:[a]} %{WORD:[a][b]}'}}]", None, "two captures into one field"),
    ("[{type: grok, match: {message: '%{WORD:[a][b]} %{WORD:[a]}'}}]", None, "two captures into one field"),
    ("[{type: grok, match: {message: '%{WORD:w}'}, overwrite: [w]}]", None, "overwrites"),
    ("[{type: grok, match: {message: '%{WORD:w}'}, keep_empty_captures: true}]", None, "empty captures"),
    ("[{type: grok, match: {message: '(?<=a)%{WORD:w}'}}]", None, "engine"),
    ("[{type: grok, match: {message: '(?i)%{WORD:w}'}}]", None, "inline flags"),
    ("[{type: grok, match: {message: '(?i:x)%{WORD:w}'}}]", None, "inline flags"),
    ("[{type: grok, match: {host: '%{WORD:w}'}}]", None, "fields other than message"),
    ("[{type: grok, match: {message: ['%{WORD:w}', '%{INT:i}']}, break_on_match: false}]", None,
     "break_on_match"),
    ("[{type: grok, match: {message: '%{WORD:w}'}, tag_on_failure: [a, a]}]", None, "repeats a tag"),
])
def test_refused(filters: str | None, outputs: str | None, reason: str) -> None:
    p = pipeline(filters or f"[{GROK}]", outputs or "[{type: tcp, port: 9}]")
    route, why = route_of(p)
    assert route is None
    assert reason in why, why


def test_refused_reasons_name_the_expression() -> None:
    route, why = route_of(pipeline("[{type: grok, match: {message: '(?=x)%{WORD:w}'}}]"))
    assert route is None and "(?=x)%{WORD:w}" in why


def start_and_stop(p: Pipeline) -> tuple[bool, list[bool]]:
    """Whether the started pipeline has a route, and whether each input may pack."""
    async def scenario() -> tuple[bool, list[bool]]:
        await p.start()
        try:
            return p.line_route is not None, [p._context_for(i).packs_lines for i in p.inputs]
        finally:
            await p.shutdown(5.0)
    return asyncio.run(scenario())


def test_native_route_false_keeps_the_event_path() -> None:
    assert start_and_stop(pipeline(f"[{GROK}]")) == (True, [True])
    assert start_and_stop(pipeline(f"[{GROK}]", settings="{native_route: false}")) == (False, [False])


def test_an_input_that_adds_to_its_events_does_not_pack() -> None:
    inputs = "[{type: tcp, port: 0, tags: [t]}, {type: tcp, port: 0, add_field: {a: b}}, {type: tcp, port: 0}]"
    assert start_and_stop(pipeline(f"[{GROK}]", inputs=inputs)) == (True, [False, False, True])


# --- every bundled pattern the route takes, through the whole filter ------------------

from tests.unit.filters.test_grok_native import accepted, lines_for  # noqa: E402


def _routed() -> list[str]:
    """The bundled patterns whose ``%{NAME:f}`` the route takes (the others store
    what it refuses, such as typed captures of their own)."""
    return sorted(k for k in accepted() if k.startswith("v8:") and grok_filter(
        {"match": {"message": f"%{{{k.split(':', 1)[1]}:f}}"}}).packed_lines()[0] is not None)


with pytest.MonkeyPatch.context() as _switch:  # collected before any fixture runs
    _turn_native_on(_switch)
    ROUTED = _routed()


def test_most_library_patterns_take_the_route() -> None:
    assert len(ROUTED) > 100


@pytest.mark.parametrize("key", ROUTED)
def test_library_patterns_through_the_filter(key: str) -> None:
    """``%{NAME:f}`` for each bundled pattern the route takes: the event path (its
    RE2 gate, ``re`` extraction, capture plan, tags) and the route agree on blocks
    of lines made for the pattern."""
    name = key.split(":", 1)[1]
    options = {"match": {"message": f"%{{{name}:f}}"}}
    filter = grok_filter(options)
    transform, why = filter.packed_lines()
    assert transform is not None, why
    route = LineRoute(transform, None, None)
    stamp = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)
    # Only an integer capture the route does not write itself (more than 18 digits,
    # a sign other than '-') may leave a block to the event path.
    typed = any(convert is not None for expr in filter._fields[0][2] for *_, convert, _o, _v in expr.plan.slots)

    @settings(max_examples=10, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.filter_too_much])
    @given(st.lists(lines_for(accepted()[key]), min_size=1, max_size=12))
    def run(lines: list[str]) -> None:
        text = "\n".join(lines)
        got = route.run([PackedLines(text.encode(), stamp, count_lines(text.encode()))])
        if got is None:
            assert typed, text
            return
        assert got[0][0] == event_path(filter, text, stamp)

    run()


@pytest.mark.parametrize("expression, line", [
    ("%{GREEDYDATA:a}x%{GREEDYDATA:b}y%{GREEDYDATA:c}z", "x" * 30000 + "y" * 30000 + "zz"),
    ("%{URIPATH:p}", "/a" * 100000),
    ("%{HOSTNAME:h}", "a." * 100000 + "a"),
])
def test_long_lines_that_need_deep_backtracking(expression: str, line: str) -> None:
    # PCRE2's JIT stack defaults to 32 KiB, which such lines outgrow; the route
    # must still give the event path's document (or leave the block to it).
    filter = grok_filter({"match": {"message": expression}})
    transform, why = filter.packed_lines()
    assert transform is not None, why
    stamp = datetime(2026, 1, 2, tzinfo=timezone.utc)
    text = f"{line}\nshort x y z\n{line}"
    got = LineRoute(transform, None, None).run([PackedLines(text.encode(), stamp, 3)])
    assert got is not None
    assert got[0][0] == event_path(filter, text, stamp)


def test_a_vertical_tab_is_space_on_both_routes() -> None:
    # \v is \s for Python's re and for the event path's native matcher (its RE2
    # gate, used without the native module, does not count it).
    filter = grok_filter({"match": {"message": "%{LOGLEVEL:level}\\s%{WORD:w}"}})
    transform, why = filter.packed_lines()
    assert transform is not None, why
    stamp = datetime(2026, 1, 2, tzinfo=timezone.utc)
    text = "INFO x\nINFO\x0bfoo\nINFO\x0cfoo"
    got = LineRoute(transform, None, None).run([PackedLines(text.encode(), stamp, 3)])
    assert got is not None and got[0][0] == event_path(filter, text, stamp)
    assert got[1] == 3


def test_a_line_the_extraction_cannot_decide_leaves_the_block_to_the_event_path() -> None:
    # The gate passes "x"; the extraction program (here made to disagree) does not
    # match: the line must not be written as a failure, the block goes back.
    grok = native.LineGrok([("x", "y", [])], ["_grokparsefailure"])
    assert grok.docs(b"y\nx", b'"t"') is None
    assert grok.docs(b"y\nz", b'"t"') is not None


# --- nested fields, target and integers -------------------------------------------------

NESTED: list[dict[str, Any]] = [
    {"match": {"message": ["%{TIMESTAMP_ISO8601:[log][when]} %{LOGLEVEL:[log][level]} %{GREEDYDATA:[x][rest]}",
                           "%{DATA:[q][before]} %{QS:[q][quoted]} %{INT:[q][n]:int} ?%{WORD:[q][w]}?",
                           "key=%{NOTSPACE:[a][b][c]}$"]}},
    {"match": {"message": "%{DATA:[q][before]} %{QS:quoted} %{INT:n:int} ?%{WORD:[z][w]}?"}, "target": "parsed"},
    {"match": {"message": "%{COMBINEDAPACHELOG}"}, "ecs_compatibility": "v8"},
]


@st.composite
def nested_line(draw: st.DrawFn) -> str:
    """Lines for NESTED: integers with signs and leading zeros within what the route
    writes itself, optional words (empty captures), access lines."""
    kind = draw(st.integers(0, 3))
    if kind == 0:    # longer integers are left to the event path (below)
        return draw(matching_line().filter(lambda ln: re.search(r"[0-9]{19}", ln) is None))
    if kind == 1:
        digits = draw(st.from_regex(r"-?0{0,3}[0-9]{1,15}", fullmatch=True))
        word = draw(st.sampled_from(["", "w", "é"]))
        return f"{draw(TEXT).replace(chr(34), '')} \"{draw(TEXT).replace(chr(34), '')}\" {digits} {word}"
    if kind == 2:
        client = draw(st.sampled_from(["203.0.113.9", "::1", "host.example", "2001:db8::7"]))
        status = draw(st.sampled_from(["200", "404", "007"]))
        size = draw(st.sampled_from(["2326", "-", "0"]))
        agent = draw(TEXT).replace('"', "")
        return (f'{client} - {draw(st.sampled_from(["-", "frank"]))} [10/Oct/2026:13:55:36 -0700] '
                f'"GET /a?b=1 HTTP/1.1" {status} {size} "-" "{agent}"')
    return draw(TEXT)


@pytest.mark.parametrize("index", range(len(NESTED)))
def test_nested_fields_and_integers_as_the_event_path_writes_them(index: int) -> None:
    filter = grok_filter(NESTED[index])
    route = native_route(filter)

    @settings(max_examples=150, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.lists(nested_line(), min_size=1, max_size=20), stamps)
    def run(lines: list[str], stamp: datetime) -> None:
        text = "\n".join(lines)
        got = route.run([PackedLines(text.encode(), stamp, count_lines(text.encode()))])
        assert got is not None
        assert got[0][0] == event_path(filter, text, stamp), text

    run()


@pytest.mark.parametrize("number", ["1234567890123456789", "+5", " 7"])
def test_an_integer_the_route_does_not_write_leaves_the_block_to_the_event_path(number: str) -> None:
    filter = grok_filter({"match": {"message": "n=%{GREEDYDATA:[v][n]:int}"}})
    route = native_route(filter)
    stamp = datetime(2026, 1, 2, tzinfo=timezone.utc)
    ok = PackedLines(b"n=12", stamp, 1)
    assert route.run([ok]) is not None
    block = f"n=12\nn={number}".encode()
    assert route.run([PackedLines(block, stamp, 2)]) is None
    events = text_events(block.decode(), stamp)
    assert json_lines(filter.process(events)).count(b'"v":{"n":') == 2
