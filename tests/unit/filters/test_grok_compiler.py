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


def test_dot_matches_newline_as_grok_compiles_with_ruby_multiline() -> None:
    trace = "java.lang.Error: boom\n\tat a.B.c(B.java:1)\n"
    assert captures("%{GREEDYDATA:all}", trace) == {"all": trace}
    assert captures("^%{WORD:w}: %{GREEDYDATA:rest}$", "Error: one\ntwo") == {"w": "Error",
                                                                             "rest": "one\ntwo"}


def test_caret_and_dollar_are_line_anchors_as_in_onigmo() -> None:
    assert captures("^%{INT:n}$", "header\n42\nfooter") == {"n": "42"}
    assert captures(r"\A%{INT:n}\z", "header\n42") is None


def test_posix_letter_classes_match_unicode_letters() -> None:
    assert captures("^%{UNIXPATH:p}$", "/opt/Čierný_Peter/.中") == {"p": "/opt/Čierný_Peter/.中"}
    assert captures("^(?<w>[[:alpha:]]+)$", "Mär") == {"w": "Mär"}
    assert captures(r"^(?<w>\w+)$", "Mär") is None          # \w stays ASCII, as in Onigmo


def test_inline_pattern_definitions() -> None:
    assert captures("%{FIZZLE:f=\\d+} x", "hello 1234 x") == {"f": "1234"}
    c = Compiler(named_captures_only=False)
    assert c.compile("%{FIZZLE=[a-c]+}").program.search("xxabcx", 1) == ("abc",)


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
    (r"%{WORD:a}|%{INT:b}", "gated"),
    (r"(?<=x)%{WORD}", "timeout"),
    (r"(?>a+)b", "timeout"),
    (r"a++b", "timeout"),
])
def test_engine_choice(expr: str, engine: str) -> None:
    assert Compiler().compile(expr).engine == engine


# Choices (alternations, optional groups, quantifiers) written by the user cost a
# constant factor on a line RE2 matched, unless a repetition encloses them.
@pytest.mark.parametrize("expr", [
    r"%{IP:ip} - (?:-|%{USERNAME:user}) (?:-|%{INT:bytes:int})",
    r"^%{URIPATH:path}(?:\?%{GREEDYDATA:query})?$",
    r"(?:a|b(?:c|d)?)?x",
    r"%{INT:n}? %{WORD:w}{0,1} (?:ab){1}",
    r"(?i)get|post",
    r"a\{2,}",                     # escaped brace: a literal, not a quantifier
    r"(?:%{WORD:w} )?%{NGINXACCESS}",
])
def test_choices_outside_any_repetition_stay_on_re(expr: str) -> None:
    assert Compiler().compile(expr).engine == "gated"


@pytest.mark.parametrize("expr", [
    r"(a|b)+",
    r"^(\w+\s?)*$",
    r"(?:x(?:a|b))*",
    r"(?:(?:a|b)?c){2,}",
    r"(?:a|ab){2,5}",              # bounded, but exponential in the count
    r"(?:ab){3}",
    r"%{WORD}+",
    r"(?:%{WORD:w}\s?){2}",
])
def test_repeated_user_groups_stay_guarded(expr: str) -> None:
    assert Compiler().compile(expr).engine == "gated-timeout"


def test_redefined_library_pattern_is_no_longer_audited() -> None:
    c = Compiler(pattern_definitions={"WORD": r"(?:\w|\w\w)+"})
    assert c.compile("%{WORD:w}").engine == "gated-timeout"


@pytest.mark.parametrize("body", [r"\d+|\d+\.\d+", r"\d+\.?\d*"])
def test_user_choices_inside_a_library_repetition_stay_guarded(body: str) -> None:
    # NGINXUPSTREAMTIMES repeats ``(?:, | : )(?:-|%{NUMBER})``: a NUMBER redefined with
    # choices makes that bundled repetition ambiguous, while NUMBER alone stays on ``re``.
    c = Compiler(pattern_definitions={"NUMBER": body})
    assert c.compile("%{NGINXUPSTREAMTIMES}").engine == "gated-timeout"
    assert c.compile("%{NUMBER:n}").engine == "gated"


def test_choices_outside_repetition_extract_what_the_guarded_engine_extracts() -> None:
    expr = r"%{IP:ip} - (?:-|%{USERNAME:user}) \[(?:%{INT:n:int})?\] (?:-|%{DATA:ref}) end"
    assert Compiler().compile(expr).engine == "gated"
    assert captures(expr, "10.0.0.1 - bob [12] - end") == {"ip": "10.0.0.1", "user": "bob", "n": 12}
    assert captures(expr, "10.0.0.1 - - [] x - y end") == {"ip": "10.0.0.1", "ref": "x - y"}
    assert captures(expr, "10.0.0.1 - bob [] end") is None


@pytest.mark.parametrize("expr", ["%{A", "(?<>x)", "a)", "(?~x)", r"\g<x>", "%{X=}",
                                  r"(a)\1(?<b>c)"])
def test_syntax_errors(expr: str) -> None:
    with pytest.raises(GrokSyntaxError):
        translate(expr, {"X": "x", "A": "a"})


def test_numbered_backreference_without_named_groups() -> None:
    t = translate(r"(a)\1", LIB)
    assert t.regex == r"(a)\1" and t.re2 is None


def test_several_posix_classes_in_one_set() -> None:
    assert captures(r"(?<v>[[:digit:][:punct:]]+)", "ab 12.5% x") == {"v": "12.5%"}


def test_text_after_the_name_in_a_reference_is_ignored_as_in_logstash() -> None:
    assert captures("%{INT:n - the count}", "n=7") == {"n": "7"}


def test_inline_definition_may_hold_braces() -> None:
    assert captures(r"%{AREA:area=\d{3}}-", "tel 555-1234") == {"area": "555"}


def test_single_line_gate_and_multi_line_gate_agree_on_anchors() -> None:
    expr = Compiler().compile("^%{WORD:w}$")
    assert expr.program.translation.gate_single_line is not None
    assert expr.program.search("alpha", 1) == ("alpha",)
    assert expr.program.search("x y\nalpha\nz w", 1) == ("alpha",)
    assert expr.program.search("x alpha", 1) is None
