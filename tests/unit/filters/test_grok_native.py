"""The native grok programs against the event path's ``re`` program.

``logpipe.filters.grok.native`` writes each accepted expression twice, for
Rust's ``regex`` (the gate) and for PCRE2 (the extraction), from the parse tree
of the expression the event path compiles with ``re`` (ASCII classes, dot
matches newline). A line parsed by the native route is only right if, for every
line, both programs give the answer ``re.search`` gives: whether it matches, and
where every group starts and ends. ``LineGrok.spans`` asks both (character
offsets) so they can be held to ``re`` here, on every bundled library pattern the
writer accepts and on hand-written expressions for each construct it handles.
"""
from __future__ import annotations

import glob
import os
import re
import signal
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from re import _constants as C
from re import _parser as P  # type: ignore[attr-defined]
from typing import Any, Iterator

import orjson
import pytest
import yaml
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from logpipe.filters.grok.compiler import translate
from logpipe.filters.grok.library import bundled
from logpipe.filters.grok.native import NativeExpression, Refused, native_expression

# Part of what CI installs: there a missing module fails the run instead of skipping.
native = (__import__("logpipe_native") if os.environ.get("CI") == "true"
          else pytest.importorskip("logpipe_native"))

FLAGS = re.ASCII | re.DOTALL
DATA = Path(__file__).parents[2] / "conformance" / "data"
#: Characters every generated line may hold besides the pattern's own: the ones
#: the writer has to treat with care (escapes, non-ASCII, the \s family, \r).
EXTRA = " \t\r\x0b\x0c\x00\x1f\x7f\"\\/-]^[.é€\u00a0\u2028😀aZ09_:"


def engine(pattern: str) -> tuple[Any, NativeExpression]:
    expr = native_expression(pattern)
    return native.LineGrok([(expr.gate, expr.extract, [])], []), expr


class TooSlow(Exception):
    """``re`` backtracked too long on a line (see ``search``)."""


def _too_slow(signum: int, frame: Any) -> None:
    raise TooSlow


@contextmanager
def cpu_limit(seconds: float) -> Iterator[None]:
    """Raise TooSlow in the block after ``seconds`` of CPU time. ``re`` checks for
    signals while it backtracks; SIGVTALRM leaves pytest-timeout's SIGALRM alone."""
    old = signal.signal(signal.SIGVTALRM, _too_slow)
    signal.setitimer(signal.ITIMER_VIRTUAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)
        signal.signal(signal.SIGVTALRM, old)


def search(program: re.Pattern[str], line: str) -> re.Match[str] | None:
    """``re.search``, or TooSlow: some library patterns (BACULA_CAPACITY's nested
    counted repetitions) take ``re`` exponential time on lines they do not match.
    The event path never runs ``re`` on those (its RE2 gate turns them away); here
    such a line cannot be checked, so it is left out."""
    with cpu_limit(1.0):
        return program.search(line)


def check(grok: Any, program: re.Pattern[str], line: str, exact_gate: bool = True) -> bool:
    """Both native programs give ``re.search``'s answer and groups on ``line`` (a
    gate that is not exact may pass more lines, never fewer);
    False when the line could not be checked (``re`` too slow, or PCRE2 reached a
    resource limit: the route then hands the block to the event path)."""
    try:
        want = search(program, line)
    except TooSlow:
        return False
    try:
        gate, spans = grok.spans(0, line)
    except ValueError as exc:
        assert "limit" in str(exc), exc
        return False
    if exact_gate:
        assert gate is (want is not None), (program.pattern, line)
    else:
        assert gate or want is None, (program.pattern, line)
    if want is None:
        assert spans is None, (program.pattern, line)
        return True
    assert spans is not None, (program.pattern, line)
    expected = [None if want.span(g) == (-1, -1) else want.span(g) for g in range(program.groups + 1)]
    assert [None if s is None else tuple(s) for s in spans] == expected, (program.pattern, line)
    return True


# --- the bundled library -------------------------------------------------------------

@lru_cache(maxsize=1)
def library_regexes() -> dict[str, str]:
    """Every bundled pattern (both ECS modes) as the event path's regex, by a
    readable id; the same regex is kept once."""
    found: dict[str, str] = {}
    seen: set[str] = set()
    for ecs in ("v8", "disabled"):
        lib = bundled(ecs)
        for name in sorted(lib):
            regex = translate("%{" + name + "}", lib, audited_bodies=lib).regex
            if regex not in seen:
                seen.add(regex)
                found[f"{ecs}:{name}"] = regex
    return found


@lru_cache(maxsize=1)
def accepted() -> dict[str, str]:
    out = {}
    for key, regex in library_regexes().items():
        try:
            native_expression(regex)
        except Refused:
            continue
        out[key] = regex
    return out


@lru_cache(maxsize=1)
def sample_lines() -> list[str]:
    """Lines of the conformance corpus (grok spec cases and the pattern files'
    cases), their words and their pieces around punctuation: text real patterns
    were written for."""
    messages: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "message" and isinstance(value, str):
                    messages.add(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for path in sorted(glob.glob(str(DATA / "grok" / "*.yaml")) + glob.glob(str(DATA / "patterns_core" / "*.yaml"))):
        walk(yaml.safe_load(Path(path).read_text()))
    lines: set[str] = set()
    for message in messages:
        for line in message.split("\n"):
            lines.add(line)
            lines.update(line.split())
            lines.update(re.split(r"[\[\]\"(){}<>,;=|]", line))
    lines.discard("")
    return sorted(lines)


def test_most_of_the_library_is_accepted() -> None:
    # The route is only worth having if the common patterns get it.
    assert len(accepted()) > 300
    for name in ("COMBINEDAPACHELOG", "SYSLOGLINE", "IP", "URI", "TIMESTAMP_ISO8601", "HTTPDATE",
                 "HOSTNAME", "NUMBER", "QS", "LOGLEVEL", "GREEDYDATA"):
        assert f"v8:{name}" in accepted(), name


def test_library_on_the_corpus() -> None:
    lines = sample_lines()
    assert len(lines) > 500
    for regex in accepted().values():
        grok, expr = engine(regex)
        program = re.compile(regex, FLAGS)
        checked = sum(check(grok, program, line, expr.exact_gate) for line in lines)
        assert checked > len(lines) // 2


def _alphabet(items: Any, out: set[str]) -> None:
    """Characters that the pattern's literals and classes name (range ends and a
    middle, a few members of each class)."""
    for op, av in items:
        if op is C.LITERAL or op is C.NOT_LITERAL:
            out.add(chr(av))
        elif op is C.RANGE:
            out.update((chr(av[0]), chr(av[1]), chr((av[0] + av[1]) // 2)))
        elif op is C.CATEGORY:
            out.update({C.CATEGORY_DIGIT: "07", C.CATEGORY_NOT_DIGIT: "a-",
                        C.CATEGORY_WORD: "aZ_9", C.CATEGORY_NOT_WORD: ".é",
                        C.CATEGORY_SPACE: " \t\x0b", C.CATEGORY_NOT_SPACE: "x"}.get(av, ""))
        elif op is C.IN:
            _alphabet(av, out)
        elif op is C.BRANCH:
            for alt in av[1]:
                _alphabet(alt, out)
        elif op is C.SUBPATTERN:
            _alphabet(av[-1], out)
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT):
            _alphabet(av[2], out)


def lines_for(regex: str) -> st.SearchStrategy[str]:
    """Lines for one expression: random text over the characters it names, text
    it matches (generated from the regex itself), and such text with a
    character inserted, removed or replaced, so that near misses are tried."""
    chars: set[str] = set(EXTRA)
    _alphabet(P.parse(regex, FLAGS), chars)
    chars.discard("\n")
    alphabet = st.sampled_from(sorted(chars))
    loose = st.text(alphabet, max_size=80)
    matching = st.from_regex(re.compile(regex, FLAGS)).map(lambda s: s.replace("\n", " "))

    def mutate(args: tuple[str, int, str, int]) -> str:
        text, at, char, how = args
        at = at % (len(text) + 1)
        if how == 0:
            return text[:at] + char + text[at:]
        if how == 1:
            return text[:at] + text[at + 1:]
        return text[:at] + char + text[at + 1:]

    near = st.tuples(matching, st.integers(0, 200), alphabet, st.integers(0, 2)).map(mutate)
    return st.one_of(loose, matching, near)


@pytest.mark.parametrize("key", sorted(accepted()))
def test_library_pattern_on_generated_lines(key: str) -> None:
    regex = accepted()[key]
    grok, expr = engine(regex)
    program = re.compile(regex, FLAGS)

    @settings(max_examples=15, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.filter_too_much])
    @given(lines_for(regex))
    def run(line: str) -> None:
        if not check(grok, program, line, expr.exact_gate):
            reject()

    run()


# --- constructs the writer handles ---------------------------------------------------

CONSTRUCTS = [
    # literals that are syntax somewhere, and non-ASCII ones
    r"a\.b\*c\+d\?e\(f\)g\[h\]i\{j\}k\|l\\m\^n\$o/p-q#r s~t&u",
    r"\"(?P<q>[^\"]*)\"",
    r"é+(?P<x>€|😀)\u00a0",
    r"\t\r\x0b\x0c\x00\x7f",
    # classes: ranges, negation, the ASCII classes and their negations inside classes
    r"[a-f0-4_]+",
    r"[^a-f\]\\-]+",
    r"(?P<w>[\w.-]+)@(?P<d>[\d]+)",
    r"[\W]+(?P<s>[\s]+)[\S]+",
    r"[^\W\d_]+",
    r"[^\S\r]+x",
    r"[\D]+:[^\D]+",
    r"(?P<a>\w+)\W(?P<b>\d+)\D(?P<c>\s)\S",
    r"[-\]^]+",
    r"[é-ü\u4e00-\u9fff]+",
    # word boundaries
    r"\bfoo\b",
    r"\Bo+\B",
    r"(?P<v>\b\w+\b)=",
    # lazy and counted repetition
    r"(?P<a>.*?)(?P<b>x+?)(?P<c>.*)",
    r"(?P<a>[a-z]{2,4}?)(?P<b>[a-z]{3})(?P<c>\d{1,})",
    r"(?:ab){2}(?P<r>(?:c|d){0,3})e?",
    r"(?P<a>(?:x|xy)+?)y",
    r"(?:(?P<a>a)|b)+c",
    r"(?P<e>x?)+?y",
    r"(?P<o>(?P<i>[0-9]+)\.)+",
    # alternation
    r"(?P<m>GET|POST|PUT)|(?P<n>\d+)|-",
    r"(?:a|ab)(?:c|bcd)(?P<t>d*)",
    r"(?P<e>|x)y",
    # inline dot-all flags, any character, anchors
    r"(?s:a.b)(?-s:c.d)",
    r"(?-s:.+)",
    r"^(?P<h>\S+) (?P<rest>.*)$",
    r"\A\d+\Z",
    r"(?m)^x$",
    r"(?s)x.y",
    r"(?x) a \  b  # comment",
    # lookarounds (dropped from the gate, kept in the extraction), $ before a final newline
    r"(?<![0-9])(?P<n>[0-9]{1,3})(?![0-9])",
    r"(?<=x)(?P<y>y+)(?=z|$)",
    r"(?P<w>\w+)(?!\.)\b",
    r"(?P<a>a+)$",
    r"(?m)^(?P<b>b+)$",
]


@pytest.mark.parametrize("regex", CONSTRUCTS)
def test_construct(regex: str) -> None:
    grok, expr = engine(regex)
    program = re.compile(regex, FLAGS)

    @settings(max_examples=150, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(lines_for(regex))
    def run(line: str) -> None:
        assert check(grok, program, line, expr.exact_gate), line

    run()


@pytest.mark.parametrize("regex, reason", [
    (r"(?=(a))b", "inside a lookaround"),
    (r"(?i)abc", "case-insensitive"),
    (r"(?i:a)b", "inline flags"),
    (r"(?P<x>a)(?P=x)", "groupref"),
    (r"(?>a+)b", "atomic"),
    (r"a++", "possessive"),
    (r"(a)?(?(1)b|c)", "groupref_exists"),
])
def test_refused(regex: str, reason: str) -> None:
    with pytest.raises(Refused, match=reason):
        native_expression(regex)


def test_refuses_non_ascii_classes() -> None:
    with pytest.raises(Refused):
        native_expression(r"\w+", re.DOTALL)


# --- JSON strings ----------------------------------------------------------------------

@settings(max_examples=500, deadline=None)
@given(st.text())
def test_json_string_is_orjsons(text: str) -> None:
    try:
        want = orjson.dumps(text)
    except orjson.JSONEncodeError:   # a lone surrogate: not text a UTF-8 line can hold
        return
    assert native.json_string(text) == want


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(max_codepoint=0x9f) | st.sampled_from("\"\\/\u2028\u2029\ufeff😀")))
def test_json_string_control_and_quote_characters(text: str) -> None:
    assert native.json_string(text) == orjson.dumps(text)


def test_json_string_every_ascii_character() -> None:
    for code in range(128):
        assert native.json_string(chr(code)) == orjson.dumps(chr(code)), code
