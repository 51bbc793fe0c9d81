"""The rewritten extraction program answers exactly as the expression compiled as written."""
from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from logpipe.filters.grok.matcher import Compiler
from logpipe.filters.grok.rewrite import compile_extraction

FLAGS = re.ASCII | re.DOTALL


def _expressions() -> st.SearchStrategy[str]:
    atoms = st.sampled_from(['"', "a", "x", " ", "-", ".*?", ".+?", ".*", "[^\"]*", "$", "\\Z",
                             "(?=x)", "(?-s:.*?)", "(?i:.*?)A", ".*?"])
    counter = iter(range(10**9))

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        seq = st.lists(inner, min_size=1, max_size=4).map("".join)
        return st.one_of(
            seq,
            seq.map(lambda s: f"(?P<g{next(counter)}>{s})"),
            st.tuples(seq, seq).map(lambda t: f"(?:{t[0]}|{t[1]})"),
            seq.map(lambda s: f"(?:{s})?"),
            seq.map(lambda s: f"(?:{s})??"),
            seq.map(lambda s: f"(?:{s})*"),
            seq.map(lambda s: f"(?:{s}){{2}}"),
        )
    return st.recursive(atoms, extend, max_leaves=10).map(lambda s: s + '"' if s.endswith("?") else s)


TEXT = st.one_of(st.text(alphabet='a"x \n-A', max_size=14),
                 st.lists(st.sampled_from(['"', "a", "x", " ", '" ', '"x', '"a', "\n", "-", "A", "ab"]),
                          max_size=8).map("".join))

#: Expressions shaped like grok's quoted fields: something, a quote, a lazy field, a
#: quote, and a tail that may or may not be able to fail.
SHAPED = st.tuples(
    st.sampled_from(["", "a", "(?:a|x)?", "x*", "-"]),
    st.sampled_from(["(?P<f>.*?)", "(?:-|(?P<f>.*?))", "(?:(?P<f>.*?))?", "(?:(?P<f>.*?)|x)",
                     "(?-s:(?P<f>.*?))", "(?P<f>.+?)", "(?P<f>.*?)(?P<h>.*?)", "(?P<f>.*?)-?"]),
    st.lists(st.sampled_from([" ", "x", "$", "(?: x)?", "(?: (?P<t1>a+))?", "(?:a|)", "(?:a|x)",
                              '(?:"(?P<t2>.*?)")?', "(?:a)*", "(?:a)+", "(?=x)", "(?:)", "(?:a?)",
                              "(?:x|a?)", "(?:a)??", "(?:a|x)?b"]), max_size=3),
    st.sampled_from(["{}", "(?:{})?", "(?:{})*", "(?:{}){{2}}", "(?:{}|a)", "(?:{})?x"]),
).map(lambda t: t[3].format(t[0] + '"' + t[1] + '"' + "".join(dict.fromkeys(t[2]))))


def _answer(rx: re.Pattern[str], text: str) -> object:
    found = []
    for m in (rx.match(text), rx.search(text), rx.search(text, 2)):
        found.append(None if m is None else (m.span(), m.groups(), m.groupdict()))
    return found


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(SHAPED, _expressions()), st.lists(TEXT, min_size=1, max_size=12), st.booleans())
# The lazy field may have to reach past its first quote when the loop around it
# must run again, or when what follows it can fail:
@example('(?:"(?P<f>.*?)"){2}', ['"a"x"""'], True)
@example('"(?P<f>.*?)"(?:a)+', ['"x"y"a'], True)
@example('"(?P<f>.*?)" ', ['"a"x" '], True)
@example('(?-s:"(?P<f>.*?)")', ['"a\nb"'], True)
def test_rewritten_programs_answer_like_the_text_as_written(expression: str, texts: list[str],
                                                            dotall: bool) -> None:
    flags = FLAGS if dotall else re.ASCII
    try:
        plain = re.compile(expression, flags)
    except re.error:
        return
    ours = compile_extraction(expression, flags)
    assert ours.groupindex == plain.groupindex and ours.groups == plain.groups
    for text in texts:
        assert _answer(ours, text) == _answer(plain, text), (expression, text)


@pytest.mark.parametrize("expression, rewritten", [
    ('"(?P<g0>.*?)"', True),                           # the end follows
    ('"(?:-|(?P<g0>.*?))"(?: (?P<g1>\\d+))?', True),   # only optional parts follow
    ('"(?P<g0>.*?)" ', False),                         # a space must follow: it can fail
    ('"(?P<g0>.*?)"$', False),                         # so can the end of the line
    ('(?:"(?P<g0>.*?)")*', False),                     # inside a repetition
    ('(?P<g0>.*?)a', False),                           # a letter (case-insensitive matching)
    ('(?P<g0>.+?)"', False),                           # at least one character, maybe the quote
    ('"(?P<g0>.*?)"(?:a|)', True),                     # a choice that can take nothing
    ('"(?P<g0>.*?)"(?:a|x)', False),                   # a choice that cannot
])
def test_which_lazy_tails_are_rewritten(expression: str, rewritten: bool) -> None:
    # A rewritten program is compiled from the parse tree and carries no source text.
    assert (compile_extraction(expression, FLAGS).pattern is None) is rewritten


def test_combined_apache_log_user_agent_is_rewritten() -> None:
    program = Compiler().compile("%{COMBINEDAPACHELOG}").program
    assert program._rx is not None and program._rx.pattern is None
    line = ('1.2.3.4 - - [15/Jun/2025:11:59:12 +0000] "GET /a HTTP/1.1" 200 5 "-" '
            '"Mozilla/5.0 (X11) "quoted" tail"')
    groups = program.search(line, None)
    assert groups is not None and groups[-1] == "Mozilla/5.0 (X11) "
