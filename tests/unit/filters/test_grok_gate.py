"""The RE2 gate tries position 0 first while lines match there; answers never change.

These hold the RE2 + ``re`` engine (the one without the native module), so the
programs are built with ``native=False``; the native engine answers the same.
"""
from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from logpipe.filters.grok.engine import Program
from logpipe.filters.grok.matcher import Compiler

EXPR = "%{WORD:verb} %{INT:code} %{NOTSPACE:path}"
LINES = st.one_of(
    st.tuples(st.sampled_from(["GET", "POST"]), st.integers(100, 599), st.sampled_from(["/a", "/b?c=1"]))
    .map(lambda t: f"{t[0]} {t[1]} {t[2]}"),                         # matches at 0
    st.tuples(st.sampled_from(["-- ", "[x] ", "  "]), st.sampled_from(["GET 200 /a", "PUT 404 /z"]))
    .map("".join),                                                    # matches later
    st.sampled_from(["nothing here", "", "GET x /a", "200 GET /a"]),  # no match
)


def _expected(line: str) -> tuple[str | None, ...] | None:
    program = Compiler().compile(EXPR).program
    m = re.compile(program.translation.regex, re.ASCII).search(line)
    if m is None:
        return None
    return tuple(m.group(c.group) for c in program.translation.captures)


@settings(max_examples=200, deadline=None)
@given(st.lists(LINES, min_size=1, max_size=150))
def test_a_long_lived_program_answers_like_a_plain_search(lines: list[str]) -> None:
    translation = Compiler().compile(EXPR).program.translation
    for program in (Program(translation, native=False), Program(translation)):
        assert program.engine == "gated"
        for line in lines:
            got = program.search(line, None)
            assert (tuple(got) if got is not None else None) == _expected(line), line


def test_the_gate_learns_where_matches_start() -> None:
    program = Program(Compiler().compile(EXPR).program.translation, native=False)
    for _ in range(200):
        assert program.search("-- GET 200 /a", None) is not None
    assert program._lead < 0            # matches start later: no anchored attempt first
    for _ in range(200):
        assert program.search("GET 200 /a", None) is not None
    assert program._lead > 0


ANCHORED = "^%{WORD:verb} %{INT:code}$"
TEXTS = st.lists(st.sampled_from(["GET 200", "x", "PUT 404", "GET", " GET 200", "GET 200 "]), min_size=1,
                 max_size=4).map("\n".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(TEXTS, min_size=1, max_size=60))
def test_anchored_expressions_answer_like_a_plain_search_with_and_without_newlines(texts: list[str]) -> None:
    """Lines without a newline use the gate with plain anchors (and its set anchored at
    0); text with newlines uses the line-anchor gate. Both answer as ``re`` does."""
    program = Compiler().compile(ANCHORED).program
    assert program._gate1 is not program._gate and program._at0_1 is not program._at0
    plain = re.compile(program.translation.regex, re.ASCII | re.DOTALL)
    for text in texts:
        got = program.search(text, None)
        m = plain.search(text)
        assert (tuple(got) if got is not None else None) == (m.groups() if m else None), text
