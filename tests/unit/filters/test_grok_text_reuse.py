"""The native store hands out one string per capture text that comes back.

``PlanMatcher`` (native/src/textreuse.rs) keeps the last string it made for each
short ASCII text, per capture, and stores that same object when the text comes
back. These tests check that the values stay right whatever the table holds
(texts that push each other out, texts that never repeat, long and non-ASCII
texts) and that the sharing happens, and comes back after a run of texts that
did not repeat.
"""
from __future__ import annotations

import os
from typing import Any

import pytest

from logpipe.core.event import Event
from logpipe.filters.grok.matcher import Compiler, Expression

if os.environ.get("CI") != "true":
    pytest.importorskip("logpipe_native")

PATTERN = "%{WORD:[a][w]} %{NOTSPACE:[a][n]} %{INT:[a][i]:int}"


def _expression() -> Expression:
    if os.environ.get("LOGPIPE_NATIVE") == "off":
        pytest.skip("the native module is switched off")
    expression = Compiler().compile(PATTERN)
    assert expression.search_into is not None, "the native module should take this expression"
    return expression


def _store(expression: Expression, line: str) -> dict[str, Any]:
    event = Event({"message": line}, {})
    assert expression.match_into(event, line, None)
    assert type(event.data["a"]) is dict
    return event.data["a"]


def test_a_text_that_comes_back_is_the_same_string() -> None:
    expression = _expression()
    first = _store(expression, "GET /a 1")
    second = _store(expression, "GET /a 2")
    other = _store(expression, "PUT /b 3")
    assert first["w"] is second["w"] and first["n"] is second["n"]
    assert other["w"] == "PUT" and other["w"] is not first["w"]


def test_values_stay_right_while_texts_push_each_other_out() -> None:
    """Far more distinct texts than the table holds, each seen twice in a row and
    again much later: every stored value is its own line's text."""
    expression = _expression()
    words = [f"w{n}" for n in range(5_000)]
    for rnd in range(2):
        for n, word in enumerate(words):
            for _ in range(2):
                got = _store(expression, f"{word} /p{n % 7}-{word} {n}")
                assert got == {"w": word, "n": f"/p{n % 7}-{word}", "i": n}, rnd


def test_long_and_non_ascii_texts_are_made_each_time() -> None:
    expression = _expression()
    long_path = "/" + "x" * 100
    a, b = _store(expression, f"GET {long_path} 1"), _store(expression, f"GET {long_path} 1")
    assert a["n"] == b["n"] == long_path and a["n"] is not b["n"]
    c, d = _store(expression, "GET /caf\u00e9 1"), _store(expression, "GET /caf\u00e9 1")
    assert c["n"] == d["n"] == "/caf\u00e9"


def test_sharing_comes_back_after_texts_that_did_not_repeat() -> None:
    """A capture whose texts never repeat goes without the table for a while; a
    text that repeats later is shared again, and no value is ever wrong."""
    expression = _expression()
    for n in range(2_000):
        got = _store(expression, f"GET /unique-{n} {n}")
        assert got["n"] == f"/unique-{n}"
    shared_again = False
    last = None
    for n in range(20_000):
        got = _store(expression, "GET /again 1")
        assert got["n"] == "/again"
        if last is not None and got["n"] is last:
            shared_again = True
            break
        last = got["n"]
    assert shared_again


def test_turned_off_every_capture_is_a_new_string() -> None:
    if os.environ.get("LOGPIPE_NATIVE") == "off":
        pytest.skip("the native module is switched off")
    import logpipe_native

    plan_matcher = logpipe_native.PlanMatcher
    gate, extract = r"^\w+$", r"^(\w+)$"  # one word, group 1
    slots = [(1, 0, ["a", "w"], 0, None)]
    on = plan_matcher(gate, extract, slots)
    off = plan_matcher(gate, extract, slots, reuse_texts=False)
    for matcher, shared in ((on, True), (off, False)):
        first, second = {}, {}
        assert matcher.search_into("GET", first, {}) is True
        assert matcher.search_into("GET", second, {}) is True
        assert first == second == {"a": {"w": "GET"}}
        assert (first["a"]["w"] is second["a"]["w"]) is shared
