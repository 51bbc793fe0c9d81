"""Generated condition code answers exactly what the reference evaluator answers.

``compile_condition`` turns each condition into generated Python source
(logpipe.core.condition_codegen); ``interpret`` builds the plain closures over
the same parse. Random conditions over random events (missing fields, nulls,
booleans against numbers, lists, dict subclasses, scalars in the way of a path,
naive and aware timestamps) must give the same bool from both, one event at a
time and batch-wise.
"""
from __future__ import annotations

from collections import OrderedDict
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logpipe.core.conditions import compile_condition, interpret, select
from logpipe.core.event import Event
from logpipe.errors import ConditionError

KEYS = ["a", "b", "c", "0", "1"]
_T0 = datetime(2024, 5, 1, 12, 0, 0)

leaves = st.one_of(
    st.none(), st.booleans(), st.integers(-2, 2), st.sampled_from([0.0, 1.0, -1.0, 2.5]),
    st.text(alphabet="ab{ \n1A", max_size=5),
    st.sampled_from([_T0, _T0 + timedelta(hours=1), _T0.replace(tzinfo=timezone.utc)]),
)
values = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=3),
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=2).map(OrderedDict),
    ),
    max_leaves=8,
)
events = st.builds(
    lambda data, meta: Event(data, meta),
    st.dictionaries(st.sampled_from(KEYS), values, max_size=4),
    st.dictionaries(st.sampled_from(KEYS), values, max_size=3),
)

FIELDS = ["[a]", "[b]", "c", "[a][b]", "[a][0]", "[a][-1]", "[a][b][c]", "[a][1][b]",
          "[b][a][c][0]", "[a][b][c][a]", "[@metadata][a]", "[@metadata][a][b]", "[@metadata]",
          "a.b"]
LITERALS = ['"a"', "'b{'", '""', "1", "-1", "2.5", "0", "1.0", "true", "false", "null",
            '[1, "a", true, null]', '["a", "b"]', "[]", "[0]", "[1.0, false]", '[null]',
            '"a\\n"', "'{'"]
REGEXES = ["/^a/", "/\\{/", "/a|b/", "/^\\s*\\{/", "/(?i)A/", "/b$/", "/^\\S+ \\S+/", "/a+1/",
           "/^(a|b)/"]

fields = st.sampled_from(FIELDS)
operands = st.one_of(fields, st.sampled_from(LITERALS))
comparisons = st.one_of(
    operands,
    st.tuples(operands, st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), operands)
    .map(" ".join),
    st.tuples(operands, st.sampled_from(["in", "not in"]), operands).map(" ".join),
    st.tuples(st.one_of(fields, st.sampled_from(['"a"', "1"])), st.sampled_from(["=~", "!~"]),
              st.sampled_from(REGEXES)).map(" ".join),
    st.tuples(st.sampled_from(["!", "not "]), operands).map("".join),
)


def _combine(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(inner, st.sampled_from(["and", "or", "xor", "nand"]), inner).map(" ".join),
        inner.map(lambda x: f"({x})"),
        inner.map(lambda x: f"!({x})"),
    )


conditions = st.recursive(comparisons, _combine, max_leaves=6)


def _answers(cond: Any, batch: list[Event]) -> list[Any]:
    out: list[Any] = []
    for event in batch:
        try:
            out.append(cond(event))
        except Exception as exc:   # the reference never raises; if it did, so must the code
            out.append(type(exc))
    return out


def _assert_agree(expr: str, batch: list[Event]) -> None:
    compiled, reference = compile_condition(expr), interpret(expr)
    got, expected = _answers(compiled, batch), _answers(reference, batch)
    assert got == expected, (expr, compiled.source)  # type: ignore[attr-defined]
    assert all(type(v) is bool for v in got), (expr, got)
    assert compiled.many(batch) == got   # type: ignore[attr-defined]
    assert select(compiled, batch) == got


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conditions, st.lists(events, min_size=1, max_size=6))
def test_generated_code_agrees_with_the_reference_evaluator(expr: str, batch: list[Event]) -> None:
    try:
        interpret(expr)
    except ConditionError:
        with pytest.raises(ConditionError):
            compile_condition(expr)
        return
    _assert_agree(expr, batch)


def _pipeline_conditions() -> list[str]:
    """Every ``if`` (and ``keep_if``) of the shipped graphmemory pipeline."""
    root = Path(__file__).resolve().parents[3] / "pipelines" / "graphmemory.yaml"
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "if" and isinstance(value, str):
                    found.append(value)
                elif key == "keep_if" and isinstance(value, list):
                    found.extend(v for v in value if isinstance(v, str))
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)
    walk(yaml.safe_load(root.read_text(encoding="utf-8")))
    return [c for c in found if "${" not in c]


PIPELINE_CONDITIONS = _pipeline_conditions()

pipeline_values = st.one_of(
    values, st.sampled_from(["", "{\"a\": 1}", "  {", "GET /x HTTP/1.1", "1.2.3.4 - - [x] \"",
                             "graphmemory.access", "security", "access", "_grokparsefailure"]))
pipeline_events = st.builds(
    lambda data, meta: Event(data, meta),
    st.dictionaries(
        st.sampled_from(["message", "tags", "service", "remote_addr", "status", "http", "url",
                         "performance", "db", "event", "a"]),
        st.one_of(pipeline_values, st.lists(pipeline_values, max_size=3),
                  st.dictionaries(st.sampled_from(["name", "response", "status_code", "original",
                                                   "path", "route", "slo_breach", "statement",
                                                   "dataset"]),
                                  st.one_of(pipeline_values,
                                            st.dictionaries(st.sampled_from(["status_code"]),
                                                            pipeline_values, max_size=1)),
                                  max_size=3)),
        max_size=6),
    st.dictionaries(st.sampled_from(["category", "access_time"]), pipeline_values, max_size=2),
)


def test_the_pipeline_has_conditions_to_check() -> None:
    assert len(PIPELINE_CONDITIONS) >= 10


@pytest.mark.parametrize("expr", PIPELINE_CONDITIONS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(pipeline_events, min_size=1, max_size=8))
def test_pipeline_conditions_agree_with_the_reference(expr: str, batch: list[Event]) -> None:
    _assert_agree(expr, batch)


@pytest.mark.parametrize("expr", ["true", "false", "1 == 1.0", "'a' in 'abc'", "![1]",
                                  "true and [a]", "false or [a]", "true xor [a]", "[a] xor false",
                                  "'a' =~ /a/", "null !~ /a/", "1 < 'a'"])
def test_constant_parts_fold_to_the_reference_answer(expr: str) -> None:
    batch = [Event({"a": v}) for v in (None, False, True, 0, "", "a", [1], {"a": 1})]
    _assert_agree(expr, batch)


SAMPLE_VALUES: list[Any] = [None, True, False, 0, 1, 1.0, -1, 2.5, "", "a", "b{", "a\n", "1",
                            [], [1], [1, "a"], [True], [None], {"a": 1}, {"b": "a"},
                            OrderedDict(a=1), _T0, _T0.replace(tzinfo=timezone.utc)]


def _sample_events() -> list[Event]:
    """Each sample value at the top, one and two levels down, in a list, and in the
    metadata: every field of FIELDS meets every kind of value somewhere."""
    out = [Event({}), Event({"a": None}), Event({"a": [{"b": 1}, {"b": "a"}]})]
    for v in SAMPLE_VALUES:
        out.append(Event({"a": v, "b": v, "c": v}, {"a": v}))
        out.append(Event({"a": {"b": v, "0": v, "-1": v}, "b": {"a": {"c": [v]}}},
                         {"a": {"b": v}}))
        out.append(Event({"a": {"b": {"c": v}}, "b": [v]}))
        out.append(Event({"a": [v, {"b": v}]}))
    return out


SAMPLE_EVENTS = _sample_events()


@pytest.mark.parametrize("op", ["==", "!=", "<", "<=", ">", ">=", "in", "not in"])
def test_every_field_against_every_literal(op: str) -> None:
    """Exhaustive over the small grammar of one comparison, both ways round."""
    for field in FIELDS:
        for literal in [*LITERALS, *FIELDS[:4]]:
            _assert_agree(f"{field} {op} {literal}", SAMPLE_EVENTS)
            _assert_agree(f"{literal} {op} {field}", SAMPLE_EVENTS)


def test_every_field_truth_and_regex() -> None:
    for field in FIELDS:
        _assert_agree(field, SAMPLE_EVENTS)
        _assert_agree(f"!{field}", SAMPLE_EVENTS)
        for regex in REGEXES:
            _assert_agree(f"{field} =~ {regex}", SAMPLE_EVENTS)
            _assert_agree(f"{field} !~ {regex}", SAMPLE_EVENTS)


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=8), st.text(max_size=8), st.text(max_size=8))
def test_any_string_is_written_into_the_code_as_itself(key: str, text: str, other: str) -> None:
    """Field names and string literals go into the generated source as ``repr``s:
    quotes, backslashes, line breaks and any other character must read back as the
    same string (built as a tree, past the lexer's own escaping)."""
    from logpipe.core.condition_codegen import generate
    from logpipe.core.conditions import Compare, In, Or, _Operand, closures

    field = _Operand(True, (key, key))
    tree = Or(Compare("==", field, _Operand(False, text)), In(_Operand(False, text), field))
    compiled, reference = generate(tree), closures(tree)
    batch = [Event({key: {key: v}}) for v in (text, other, [text], {text: 1}, f"<{text}>")]
    assert _answers(compiled, batch) == _answers(reference, batch)
    assert compiled(batch[0]) is True
