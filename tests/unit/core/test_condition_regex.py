"""Regular expression conditions on the native engine answer what ``re`` answers.

logpipe.core.condition_regex writes a condition's pattern anew for the ``regex``
crate when it can say the same thing on ASCII text; the native test answers None
for any other text, which ``re`` then judges. These tests hold the written
patterns to ``re`` on generated patterns and texts, character by character for
the classes whose members differ between the engines, and hold the generated
conditions (native on and off) to the reference evaluator on texts outside
ASCII, lone surrogates, non-strings and lists.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logpipe.core import conditions as c
from logpipe.core.condition_codegen import generate
from logpipe.core.condition_regex import ascii_test, translate
from logpipe.core.event import Event
from logpipe.core.native import native_module
from logpipe.core.stages import _verdicts

needs_native = pytest.mark.skipif(native_module() is None, reason="logpipe_native absent or off")

ASCII = "".join(map(chr, range(128)))


def _pattern(text: str) -> re.Pattern[str]:
    """As the condition lexer compiles a pattern: always MULTILINE."""
    return re.compile(text, re.MULTILINE)


def _native(text: str) -> Any:
    test = ascii_test(_pattern(text))
    assert test is not None, (text, translate(_pattern(text)))
    return test


def _agree(text: str, subjects: list[str]) -> None:
    pattern, test = _pattern(text), _native(text)
    for subject in subjects:
        assert test(subject) == (pattern.search(subject) is not None), (text, subject)


# --- one character at a time: where the engines' classes differ -------------------------
CLASS_PATTERNS = [r"\s", r"\S", r"\w", r"\W", r"\d", r"\D", r".", r"[^\s]", r"[\W\d]",
                  r"[^\w\s]", r"[a-f\d_]", r"[^\D]", r"[\x00-\x1f]", r"[é\s]", r"[^é]",
                  r"[\x20-\uffff]", r"\b", r"^", r"$", r"\A", r"\Z", r"^$", r"\b\w\b",
                  r"[\]\-\\^]", r"\^\$\.\|\?\*\+\(\)\[\{\}"]


@needs_native
@pytest.mark.parametrize("text", CLASS_PATTERNS)
def test_every_ascii_character_alone_and_in_pairs(text: str) -> None:
    singles = list(ASCII)
    pairs = [a + b for a in "a _\n\x1c9-" for b in ASCII]
    _agree(text, ["", *singles, *pairs])


# --- generated patterns over generated ASCII text -----------------------------------------
ATOMS = ["a", "b", "ab", r"\d", r"\w", r"\s", r"\S", r"\W", ".", "[a-c]", "[^a\n]", r"[\s\d]",
         r"\b", "^", "$", r"\A", r"\Z", "-", r"\.", r"\\", r"\{", r'"', "\x1c", r"\n",
         "é", r"[é-ü\d]"]
QUANTIFIERS = ["", "", "*", "+", "?", "{2}", "{1,3}", "*?", "+?", "{0,2}?", "{2,}"]

atoms = st.sampled_from(ATOMS)


def _quantified(atom: str, q: str) -> str:
    if atom in ("^", "$", r"\A", r"\Z", r"\b", r"\B"):
        return atom   # re refuses to repeat these
    return f"(?:{atom}){q}"


pieces = st.builds(_quantified, atoms, st.sampled_from(QUANTIFIERS))
sequences = st.lists(pieces, min_size=1, max_size=4).map("".join)
patterns = st.recursive(
    sequences,
    lambda inner: st.one_of(
        st.lists(inner, min_size=2, max_size=3).map("|".join),
        st.tuples(inner, st.sampled_from(["", "*", "+", "?", "{0,2}"]))
        .map(lambda t: f"({t[0]}){t[1]}"),
        st.tuples(inner, inner).map("".join),
    ),
    max_leaves=6,
)
texts = st.text(alphabet="ab c\n\x1c\t9_-.{\"\\\x7fZ", max_size=12)


@needs_native
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patterns, st.lists(texts, min_size=1, max_size=5))
def test_generated_patterns_agree_with_re_on_ascii_text(text: str, subjects: list[str]) -> None:
    pattern = _pattern(text)
    test = ascii_test(pattern)
    if test is None:
        # Only a literal outside ASCII may keep a pattern of these atoms with re.
        assert "é" in text, (text, translate(pattern))
        return
    for subject in subjects:
        assert test(subject) == (pattern.search(subject) is not None), (text, subject,
                                                                          translate(pattern))


@needs_native
@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=10).filter(lambda s: not s.isascii()))
def test_text_outside_ascii_is_left_to_re(subject: str) -> None:
    test = _native(r"a|\s|.")
    assert test(subject) is None
    assert test("\ud800") is None   # a lone surrogate cannot even be read as UTF-8


@pytest.mark.parametrize("text", [r"(?i)get", r"(?s)a.b", r"a(?=b)", r"a(?!b)", r"(?<=a)b",
                                  r"(a)\1", r"(?>a+)b", r"a++", r"é", r"[é]", r"(?i:a)b",
                                  r"(?m:a)", r"(a)?(?(1)a|b)", r"\B"])
def test_patterns_with_other_meanings_stay_with_re(text: str) -> None:
    try:
        pattern = _pattern(text)
    except re.error:
        pytest.skip("not a pattern in this Python")
    assert translate(pattern) is None


def test_nothing_goes_native_when_the_module_is_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGPIPE_NATIVE", "off")
    assert ascii_test(_pattern("a")) is None
    compiled = generate(c.parse("[message] =~ /a/"), native=True)
    assert "_ascii" not in compiled.source   # type: ignore[attr-defined]


def _pipeline_regexes() -> list[str]:
    root = Path(__file__).resolve().parents[3] / "pipelines" / "graphmemory.yaml"
    found: list[str] = []
    for plugin in yaml.safe_load(root.read_text(encoding="utf-8"))["filters"]:
        cond = plugin.get("if")
        if isinstance(cond, str) and "=~" in cond:
            found.append(cond)
    return found


@needs_native
@pytest.mark.parametrize("expr", _pipeline_regexes())
def test_the_shipped_pipelines_regex_conditions_go_native(expr: str) -> None:
    """The pipeline's patterns are all within what the writer carries over."""
    assert "_ascii" in generate(c.parse(expr), expr).source   # type: ignore[attr-defined]


# --- whole conditions, native on and off, against the reference evaluator ----------------
class Loud(str):
    """A str subclass: conditions treat it as a non-string."""


class Raising:
    def __eq__(self, other: object) -> bool:
        raise RuntimeError("no comparing me")

    __hash__ = object.__hash__


MESSAGES: list[Any] = [
    None, 1, 2.5, True, [], ["GET /x HTTP/1.1"], {"a": "GET /"}, Loud("GET /x HTTP/1.1"),
    "", "GET /x HTTP/1.1", "GET /é HTTP/1.1", "GÉT /x HTTP/1.1", "x GET /x HTTP/1.1",
    "1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] \"GET / HTTP/1.1\" 200 1",
    "1.2.3.4 - - [01/Jan/2024] \"", "1.2.3.4 - - [é] \"", "ünïcode - - [x] \"",
    "INFO:     1.2.3.4:5 - \"GET / HTTP/1.1\" 200", "INFO:\x1c1.2.3.4:5 - \"",
    "INFO:\u20021.2.3.4:5 - \"", "x\nGET /a HTTP/2", "GET\u00a0/a HTTP/1", "\ud800 GET /x HTTP/1",
    "{\"a\": 1}", "  {", "\x1c{", "\u2003{", "\n{", "a\n {", "é{", "\ud800{", "x{",
]
CONDITIONS = [
    *_pipeline_regexes(),
    "[message] !~ /^\\s*\\{/",
    "[message] =~ /\\bGET\\b/ or [message] =~ /\\d$/",
    "!([message] =~ /^\\w+:\\s/) and [message] !~ /\\Z/",
]


def _events() -> list[Event]:
    out: list[Event] = [Event({}), Event({"service": {"name": "api"}, "message": "GET / HTTP/1"})]
    for message in MESSAGES:
        out.append(Event({"message": message}))
        out.append(Event({"message": message, "service": "not an object"}))
    return out


@pytest.mark.parametrize("expr", CONDITIONS)
@pytest.mark.parametrize("native", [True, False])
def test_conditions_agree_with_the_reference_native_on_and_off(expr: str, native: bool) -> None:
    batch = _events()
    reference = c.interpret(expr)
    compiled = generate(c.parse(expr), expr, native=native)
    expected = [reference(e) for e in batch]
    assert [compiled(e) for e in batch] == expected, compiled.source   # type: ignore[attr-defined]
    assert compiled.many(batch) == expected   # type: ignore[attr-defined]


@pytest.mark.parametrize("native", [True, False])
def test_an_event_that_raises_costs_only_its_own_verdict(native: bool) -> None:
    """A batch in which one event's evaluation raises: the stage answers False for
    it and the regex verdicts for the rest, by either engine."""
    expr = "[message] =~ /^\\S+ \\[/ or [a] == 'x'"
    compiled = generate(c.parse(expr), expr, native=native)
    batch = [Event({"message": "a [b"}), Event({"message": 3, "a": Raising()}),
             Event({"message": "é [b"}), Event({"message": "x\ny [z"}), Event({"message": "a b"})]
    with pytest.raises(RuntimeError):
        compiled.many(batch)   # type: ignore[attr-defined]
    assert [bool(v) for v in _verdicts(compiled, batch)] == [True, False, True, True, False]
