"""The ``re``-only lookaheads in front of bundled patterns change no answer.

A hint claims that every match of the pattern's body starts a certain way; if
the claim were wrong, lines would stop matching. These tests check the claim
position by position on text made of the characters addresses are made of,
and check whole expressions against the same expressions compiled without
hints.
"""
from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logpipe.filters.grok import compiler
from logpipe.filters.grok.compiler import translate
from logpipe.filters.grok.library import build_library, bundled

ADDRESSY = st.text(alphabet="0123456789abcdefABCDEFxz:.%-_ ", max_size=60)
MODES = ["v8", "disabled"]


def _regex(expression: str, mode: str, *, hints: bool, **definitions: str) -> re.Pattern[str]:
    saved = compiler._RE_HINTS
    if not hints:
        compiler._RE_HINTS = {}
    try:
        t = translate(expression, build_library(mode, (), "*", definitions), audited_bodies=bundled(mode))
    finally:
        compiler._RE_HINTS = saved
    return re.compile(t.regex, re.ASCII | re.DOTALL)


@pytest.mark.parametrize("mode", MODES)
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=ADDRESSY)
def test_every_match_of_a_hinted_body_satisfies_its_hint(mode: str, text: str) -> None:
    for name, (hint, _) in compiler._RE_HINTS.items():
        body = _regex(f"%{{{name}}}", mode, hints=False)
        ahead = re.compile(hint, re.ASCII | re.DOTALL)
        for i in range(len(text) + 1):
            if body.match(text, i):
                assert ahead.match(text, i), (name, text, i)


@pytest.mark.parametrize("mode", MODES)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=ADDRESSY)
def test_hinted_expressions_answer_like_plain_ones(mode: str, text: str) -> None:
    for expression in ("%{IPV6:a}", "%{IP:a}", "%{IPORHOST:a} %{IPORHOST:b}", "^%{IPORHOST:a}$"):
        hinted, plain = _regex(expression, mode, hints=True), _regex(expression, mode, hints=False)
        assert hinted.pattern != plain.pattern
        ours, theirs = hinted.search(text), plain.search(text)
        assert (ours and (ours.span(), ours.groups())) == (theirs and (theirs.span(), theirs.groups()))


def test_a_redefined_part_turns_the_hint_off() -> None:
    plain = _regex("%{IPV6:a}", "v8", hints=False).pattern
    assert _regex("%{IPV6:a}", "v8", hints=True).pattern != plain
    edge = "(?:%{IPV6_GROUP}:){1,7}:|:(?::%{IPV6_GROUP}){1,7}|::|x"
    assert "(?=" not in _regex("%{IPV6:a}", "v8", hints=True, IPV6_EDGE=edge).pattern
    assert "(?=" not in _regex("%{IPV6:a}", "v8", hints=True, IPV6_GROUP="[0-9a-z]{1,4}").pattern
