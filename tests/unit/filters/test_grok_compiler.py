"""Translation of grok expressions into the engines' regex syntax."""
from __future__ import annotations

import pytest

from logpipe.filters.grok import Compiler, GrokSyntaxError
from logpipe.filters.grok.compiler import translate

from ._grok_helpers import captures

LIB = {"WORD": r"\b\w+\b", "INT": r"[+-]?[0-9]+"}


def test_captures_become_numbered_groups_with_a_plan() -> None:
    t = translate("%{WORD:[a][b]} %{INT:n:int}", LIB)
    assert t.regex == r"(?P<g0>\b\w+\b) (?P<g1>[+-]?[0-9]+)"
    assert [(c.group, c.path, c.type) for c in t.captures] == [
        ("g0", ("a", "b"), None), ("g1", ("n",), "int")]


def test_unnamed_groups_are_not_captured() -> None:
    assert translate("(a|b)(?<x>c)", LIB).regex == "(?:a|b)(?P<g0>c)"


def test_onig_multiline_flag_means_dot_all() -> None:
    assert captures("(?m)%{GREEDYDATA:all}", "one\ntwo") == {"all": "one\ntwo"}
    assert captures("%{GREEDYDATA:first}", "one\ntwo") == {"first": "one"}


def test_isolated_option_is_scoped_to_its_group() -> None:
    t = translate("a(?i)b|c", LIB)
    assert t.regex == "a(?i:b|c)"
    assert captures("x(?<y>(?i)abc)D", "xABCD") == {"y": "ABC"}
    assert captures("x(?<y>(?i)abc)D", "xABCd") is None


def test_hex_escape_and_absolute_end() -> None:
    assert captures(r"^(?<h>\h+)\z", "00ff") == {"h": "00ff"}
    assert captures(r"^(?<h>[\h:]+)\z", "00:ff") == {"h": "00:ff"}


def test_onig_empty_lower_bound_quantifier() -> None:
    assert captures(r"^(?<d>\d{,3})$", "12") == {"d": "12"}


def test_posix_classes_work() -> None:
    assert captures(r"(?<w>[[:alpha:]]+)", "123abc") == {"w": "abc"}


def test_named_backreference_runs_on_the_timeout_engine() -> None:
    expr = Compiler().compile(r"(?<q>['\"])(?<v>\w+)\k<q>")
    assert expr.engine == "timeout"
    assert captures(r"(?<q>['\"])(?<v>\w+)\k<q>", "say 'hi'") == {"q": "'", "v": "hi"}


@pytest.mark.parametrize("expr,engine", [
    ("%{COMBINEDAPACHELOG}", "gated"),
    (r"%{TIMESTAMP_ISO8601:ts}\s+%{LOGLEVEL:lvl}\s+%{GREEDYDATA:msg}", "gated"),
    (r"(?:%{WORD} )+", "gated-timeout"),
    (r"%{WORD:a}|%{INT:b}", "gated-timeout"),
    (r"(?<=x)%{WORD}", "timeout"),
    (r"(?>a+)b", "timeout"),
    (r"a++b", "timeout"),
])
def test_engine_choice(expr: str, engine: str) -> None:
    assert Compiler().compile(expr).engine == engine


def test_redefined_library_pattern_is_no_longer_audited() -> None:
    c = Compiler(pattern_definitions={"WORD": r"(?:\w|\w\w)+"})
    assert c.compile("%{WORD:w}").engine == "gated-timeout"


@pytest.mark.parametrize("expr", ["%{A", "(?<>x)", "a)", "(?~x)", r"\g<x>", "%{X=y}",
                                  r"(a)\1(?<b>c)"])
def test_syntax_errors(expr: str) -> None:
    with pytest.raises(GrokSyntaxError):
        translate(expr, {"X": "x", "A": "a"})


def test_numbered_backreference_without_named_groups() -> None:
    t = translate(r"(a)\1", LIB)
    assert t.regex == r"(a)\1" and t.re2 is None


def test_several_posix_classes_in_one_set() -> None:
    assert captures(r"(?<v>[[:digit:][:punct:]]+)", "ab 12.5% x") == {"v": "12.5%"}
