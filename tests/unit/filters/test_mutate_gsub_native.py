"""The native fixed gsub (logpipe_native.FixedGsub) substitutes as Python's ``regex`` does.

``rust_pattern`` accepts only patterns whose matches are provably the same in the
``regex`` crate; these tests generate patterns from the accepted constructs (and
some it must refuse) and texts with non-ASCII characters, and compare the crate's
substitution with ``regex.sub``. The filter-level test holds the batch form to the
Python path on events of every shape, memo included.
"""
from __future__ import annotations

import copy
import os
from typing import Any

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from logpipe.core.event import Event
from logpipe.filters.mutate import MutateFilter
from logpipe.filters.mutate_native import native_gsub, rust_pattern

if os.environ.get("CI") != "true":
    pytest.importorskip("logpipe_native")

ALPHABET = "ab09/:-_.é€😀 \n[]"


def _native_on() -> None:
    if os.environ.get("LOGPIPE_NATIVE") == "off":
        pytest.skip("the native module is switched off")


def _atom() -> st.SearchStrategy[str]:
    chars = st.sampled_from(list("ab09/:-_.é€😀"))
    literal = chars.map(regex.escape)
    ranges = st.sampled_from(["0-9", "a-z", "A-Z", "a-f0-9", "/:", "é€", "\\-_", "\\]a", "^/", "^0-9",
                              "^é", ".", "\\.", "😀-😀"])
    cls = ranges.map(lambda r: f"[{r}]")
    anchors = st.sampled_from(["^", "\\A", "\\Z", "$"])
    return st.one_of(literal, cls, st.just("."), anchors)


def _pattern() -> st.SearchStrategy[str]:
    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        quant = st.sampled_from(["", "+", "*", "?", "+?", "*?", "{2}", "{1,3}", "{2,}", "{0,2}?"])
        return st.one_of(
            st.tuples(inner, quant).map(lambda t: f"(?:{t[0]}){t[1]}"),
            st.tuples(inner, quant).map(lambda t: f"({t[0]}){t[1]}"),
            st.lists(inner, min_size=2, max_size=3).map("|".join).map(lambda p: f"(?:{p})"),
            st.lists(inner, min_size=2, max_size=3).map("".join))
    return st.recursive(_atom(), extend, max_leaves=6)


texts = st.text(alphabet=ALPHABET, max_size=40)


@settings(max_examples=600, deadline=None)
@given(pattern=_pattern(), text=texts, replacement=st.sampled_from([":id", "", "é-x", "$1", "{}"]))
def test_an_accepted_pattern_substitutes_as_the_regex_module(pattern: str, text: str,
                                                             replacement: str) -> None:
    _native_on()
    gsub = native_gsub(pattern, replacement, ("f",))
    if gsub is None:
        # refused: it may match the empty text, or uses something else refused
        return
    assert gsub.sub(text) == regex.compile(pattern).sub(replacement, text)


@pytest.mark.parametrize("pattern", [
    "[0-9]+", "/[^/]+", "a|bc", "é+", "(?:ab){2,3}?", ".+?", "[\\-_]+", "x{2}",
    "^HTTP/", "\\Aa", "a\\Z", "^a|b",
])
def test_accepted_patterns(pattern: str) -> None:
    assert rust_pattern(pattern) is not None


@pytest.mark.parametrize("pattern", [
    "[0-9]*", "a?", "a|", "^", "(?m)^a", "a$", "\\d+", "\\w+", "\\s", "\\bx", "(?i)a", "(?=a)a", "(a)\\1",
    "a++", "(?>a)", "[[:alpha:]]+", "a{e<=1}", "x{", "[a[]", "[\\d]", "(?s:.)", "[\ud800]",
])
def test_refused_patterns(pattern: str) -> None:
    assert rust_pattern(pattern) is None


@pytest.mark.parametrize(("pattern", "text"), [
    ("^a", "aaa\na"), ("\\Aa", "ba"), ("a\\Z", "aa\n"), ("a\\Z", "xaa"), ("^HTTP/", "HTTP/1.1"),
    ("^a|b", "abab"), ("(?:^a)+", "aaa"),
])
def test_anchors_substitute_as_the_regex_module(pattern: str, text: str) -> None:
    _native_on()
    gsub = native_gsub(pattern, "-", ("f",))
    assert gsub is not None
    assert gsub.sub(text) == regex.compile(pattern).sub("-", text)


def test_the_regex_modules_alternation_of_negated_classes_is_refused() -> None:
    """Why negated classes are refused in alternations: the ``regex`` module finds no
    match here, ``re`` (and the crate) do."""
    assert regex.sub("[^/]|[^é]", ":id", "é") != __import__("re").sub("[^/]|[^é]", ":id", "é")
    assert rust_pattern("[^/]|[^é]") is None


def test_a_replacement_with_a_backslash_stays_in_python() -> None:
    assert native_gsub("[0-9]+", "\\g<0>", ("f",)) is None


@pytest.mark.parametrize("text", ["/a/12\ud800", "\udcff1"])
def test_a_text_that_cannot_be_utf8_raises_valueerror(text: str) -> None:
    _native_on()
    gsub = native_gsub("[0-9]+", ":id", ("f",))
    with pytest.raises(ValueError):
        gsub.sub(text)


class _Node(dict[str, Any]):
    """A dict subclass on the way: left to the Python path."""


ROUTE = st.one_of(texts, st.just("/api/12/x/345"), st.just("x" * 300 + "1"), st.just("/a\ud8001"),
                  st.none(), st.integers(), st.just(["/a/1", 2, "b3"]), st.just({"o": "1"}))
HTTP = st.one_of(st.fixed_dictionaries({}, optional={"route": ROUTE, "other": st.just("9")}),
                 st.just("text"), st.none(), st.just(["x"]),
                 st.fixed_dictionaries({"route": ROUTE}).map(_Node))


@settings(max_examples=300, deadline=None)
@given(batch=st.lists(st.fixed_dictionaries({}, optional={"http": HTTP}), max_size=10),
       field=st.sampled_from(["[http][route]", "top", "[http][route][deep]"]),
       pattern=st.sampled_from(["[0-9]+", "1|x", "[^/]+"]))
def test_the_batch_form_gives_the_python_paths_documents(batch: list[dict[str, Any]], field: str,
                                                         pattern: str) -> None:
    """The filter with the native batch form against the same filter without it
    (memo and all): the same documents and the same failures, on a batch of events
    of any shape, twice (the second time the memo answers)."""
    _native_on()

    def make() -> MutateFilter:
        return MutateFilter(MutateFilter.Config(gsub=[field, pattern, ":id"]), id="m")

    native, plain = make(), make()
    sub = native._batches[0].__self__  # type: ignore[union-attr]
    assert sub.native is not None
    plain._batches[0].__self__.native = None  # type: ignore[union-attr]

    def events() -> list[Event]:
        out = []
        for data in batch:
            data = copy.deepcopy(data)
            if field == "top" and isinstance(data.get("http"), dict):
                data["top"] = data["http"].get("route")
            out.append(Event({**data, "@timestamp": "fixed"}, {}))
        return out

    for _ in range(2):
        got, want = native.process(events()), plain.process(events())
        assert [(e.data, type(e.data.get("http"))) for e in got] == \
            [(e.data, type(e.data.get("http"))) for e in want]
