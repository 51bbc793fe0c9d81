"""The native grok matcher answers what the RE2 + ``re`` engine answers, on any text.

The gated engine uses ``logpipe_native.Matcher`` when the module is installed
(it is, in CI): the regex crate's automata as the gate, PCRE2 for the groups,
both written from the ``re`` parse tree. These tests hold it to ``re`` on texts
with newlines (the event path sees whole stack traces), on the Logstash spec
suites' real lines, and on the edges where the engines could differ.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from logpipe.filters.grok.engine import Program
from logpipe.filters.grok.matcher import Compiler
from logpipe.filters.grok.native import native_expression, native_matcher

logpipe_native = pytest.importorskip("logpipe_native") if os.environ.get("CI") != "true" else __import__(
    "logpipe_native")


@pytest.fixture(autouse=True)
def _native_engine_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests hold the native engine to ``re``, so they need it whatever
    ``LOGPIPE_NATIVE`` says for the rest of the suite; a test that turns it off
    does so itself."""
    monkeypatch.delenv("LOGPIPE_NATIVE", raising=False)

FLAGS = re.ASCII | re.DOTALL
DATA = Path(__file__).resolve().parents[2] / "conformance" / "data"

#: Expressions whose constructs the writer handles, anchors in every mode among them.
EXPRESSIONS = [
    r"^(?P<a>\w+) (?P<b>\d+)$",
    r"(?m:^)(?P<a>\w+)(?m:$)",
    r"(?m)^(?P<a>[a-z]+)$",
    r"(?P<a>.+?)(?P<b>\s*)$",
    r"\A(?P<a>[^\n]*)\Z",
    r"(?P<a>\b\w+\b)",
    r"(?P<a>\B\d)",
    r"(?s:(?P<a>.*))x",
    r"(?-s:(?P<a>.*))x?",
    r"(?P<a>[\W_]+)(?P<b>[^\d\s]*)",
    r"(?P<a>(?:ab|a)+?)(?P<b>b*)",
    r"(?P<a>x{2,3})(?P<b>x{1})",
    r"(?P<a>(?=[0-9a-f]{0,4}:)[0-9a-f:]+)|(?P<b>é+)",
    r"(?P<a>[é-ü]+)|(?P<b>\S+)",
    r"^$",
    r"(?P<a>\d+)(?!\d)",
    r"(?P<a>x)é?(?P<b>y)",
]
TEXT = st.text(alphabet=st.sampled_from(list("ab x1:é9\n\r\t_-f")), max_size=24)


def _re_groups(pattern: str, text: str) -> tuple[str | None, ...] | None:
    m = re.compile(pattern, FLAGS).search(text)
    if m is None:
        return None
    names = sorted(m.re.groupindex, key=m.re.groupindex.__getitem__)
    return tuple(m.group(n) for n in names)


def _native_groups(pattern: str, text: str) -> tuple[str | None, ...] | None:
    names = sorted(re.compile(pattern, FLAGS).groupindex, key=re.compile(pattern, FLAGS).groupindex.__getitem__)
    matcher = native_matcher(pattern, names)
    assert matcher is not None, pattern
    got = matcher.search(text)
    return None if got is None else tuple(got)


@pytest.mark.parametrize("pattern", EXPRESSIONS)
@settings(max_examples=300, deadline=None)
@given(text=TEXT)
def test_the_matcher_answers_like_re(pattern: str, text: str) -> None:
    assert _native_groups(pattern, text) == _re_groups(pattern, text)


@pytest.mark.parametrize("pattern", [r"(?m:^)(?P<a>)\Z", r"(?P<a>x)$", r"(?m:$)(?P<a>\n)"])
def test_line_anchors_at_a_trailing_newline(pattern: str) -> None:
    """``re`` puts a multiline ``^`` after a final newline and a plain ``$`` before it;
    PCRE2 does neither by default, so the writer spells them out."""
    for text in ["a\n", "x\n", "x\n\n", "\n", "", "x"]:
        assert _native_groups(pattern, text) == _re_groups(pattern, text), repr(text)


def test_a_gate_without_lookarounds_accepts_more_never_less() -> None:
    expression = native_expression(r"(?P<a>\d+)(?!\d)")
    assert not expression.exact_gate
    assert native_expression(r"^(?P<a>\d+)").exact_gate


def _spec_cases() -> list[tuple[str, str, str]]:
    """(ECS mode, grok expression, line) from the recorded Logstash spec suites."""
    out = []
    for path in sorted((DATA / "patterns_core").glob("*.yaml")) + sorted((DATA / "grok").glob("*.yaml")):
        cases = yaml.safe_load(path.read_text(encoding="utf-8"))
        for case in cases if isinstance(cases, list) else []:   # known_differences.yaml is a map
            message = (case.get("event") or {}).get("message")
            if not isinstance(message, str):
                continue
            for spec in case.get("filters") or []:
                match: Any = (spec.get("options") or {}).get("match")
                pairs = (list(zip(match[::2], match[1::2])) if isinstance(match, list)
                         else list(match.items()) if isinstance(match, dict) else [])
                for _field, texts in pairs:
                    for text in texts if isinstance(texts, list) else [texts]:
                        if isinstance(text, str):
                            out.append((spec.get("ecs_compatibility") or "disabled", text, message))
    return out


def test_every_spec_line_gets_the_same_groups_from_both_engines() -> None:
    compared = 0
    for ecs, text, line in _spec_cases():
        try:
            program = Compiler(ecs_compatibility=ecs).compile(text).program
        except Exception:
            continue               # expressions the spec expects to be refused
        if program.engine != "gated":
            continue
        native, plain = Program(program.translation), Program(program.translation, native=False)
        if native._native is None:
            continue
        for candidate in (line, line + "\n", "x " + line, line[: len(line) // 2]):
            got, want = native.search(candidate, None), plain.search(candidate, None)
            assert (tuple(got) if got is not None else None) == (tuple(want) if want is not None else None), \
                (text, candidate)
            compared += 1
    assert compared > 1000


def test_combined_apache_log_runs_natively_in_both_ecs_modes() -> None:
    for ecs in ("disabled", "v8"):
        program = Compiler(ecs_compatibility=ecs).compile("%{COMBINEDAPACHELOG}").program
        assert program.engine == "gated" and program._native is not None


def test_ascii_texts_match_alike_with_a_pattern_outside_ascii() -> None:
    """An ASCII text runs a program compiled without UTF (no UTF-8 check of the
    whole text before each match); texts in and outside ASCII, with a character
    outside ASCII in the pattern or not, get ``re``'s groups."""
    for pattern, text in [(r"(?P<a>x)é?(?P<b>y)", "xy"), (r"(?P<a>x)é?(?P<b>y)", "xéy"),
                          (r"(?P<a>\w+)\W+(?P<b>\w+)", "ab, cd"), (r"(?P<a>\w+)\W+(?P<b>\w+)", "ab é cd")]:
        assert _native_groups(pattern, text) == _re_groups(pattern, text), (pattern, text)
    assert _native_groups(r"(?P<a>x)é?(?P<b>y)", "xy") == ("x", "y")


def test_a_lone_surrogate_is_answered_by_re() -> None:
    program = Compiler().compile("%{WORD:w} %{GREEDYDATA:rest}").program
    assert program._native is not None
    text = "GET \udcff tail"
    assert tuple(program.search(text, None) or ()) == ("GET", "\udcff tail")


def test_native_off_keeps_re(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGPIPE_NATIVE", "off")
    assert native_matcher(r"(?P<a>\w+)", ["a"]) is None
    translation = Compiler().compile("%{WORD:w}").program.translation
    assert Program(translation)._native is None
