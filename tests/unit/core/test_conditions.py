"""The ``if:`` language: what each operator means, how tightly it binds, and where
errors point."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logpipe.core.conditions import compile_condition, partition, select
from logpipe.core.event import Event
from logpipe.errors import ConditionError, ConfigError

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def ev(**fields: Any) -> Event:
    return Event(dict(fields))


def check(expr: str, event: Event) -> bool:
    result = compile_condition(expr)(event)
    assert type(result) is bool, f"{expr!r} gave {result!r}"
    return result


SAMPLE = Event({
    "@timestamp": T0,
    "http": {"response": {"status_code": 503, "bytes": 12.5}},
    "status": 500,
    "ratio": 0.5,
    "code": "500",
    "message": "GET /api/v1 timeout\nsecond line",
    "path": "/a/b",
    "tags": ["beats", "_dateparsefailure"],
    "labels": {"env": "prod"},
    "flag": True,
    "off": False,
    "zero": 0,
    "empty": "",
    "nothing": None,
    "list0": [],
    "items": [1, 2.5, "x", True],
    "in": 7,
}, {"kafka": {"topic": "logs"}, "flag": "yes"})


# --- comparisons ----------------------------------------------------------------------
@pytest.mark.parametrize(("expr", "expected"), [
    ("[status] == 500", True),
    ("[status] == 500.0", True),
    ("[status] != 500", False),
    ("[status] == 501", False),
    ("[status] < 501", True),
    ("[status] <= 500", True),
    ("[status] > 500", False),
    ("[status] >= 500", True),
    ("[ratio] > 0.25", True),
    ("[ratio] < -1", False),
    ("[http][response][status_code] >= 500", True),
    ("[http][response][bytes] == 12.5", True),
    ('[labels][env] == "prod"', True),
    ("[labels][env] == 'prod'", True),
    ('[labels][env] != "prod"', False),
    ('[code] < "6"', True),
    ('[code] > "499"', True),
    ("500 == [status]", True),
    ("501 > [status]", True),
    ("[status] == [http][response][status_code]", False),
    ("[status] < [http][response][status_code]", True),
    ('"b" > "a"', True),
    ("1 == 1.0", True),
])
def test_comparisons(expr: str, expected: bool) -> None:
    assert check(expr, SAMPLE) is expected


@pytest.mark.parametrize(("expr", "expected"), [
    # a numeric string is not a number, in either direction
    ('[code] == 500', False),
    ('[status] == "500"', False),
    ('[code] > 100', False),
    ('[code] < 100', False),
    ('[status] < "600"', False),
    # booleans equal only booleans
    ("[flag] == 1", False),
    ("[off] == 0", False),
    ("[flag] == true", True),
    ("[off] == false", True),
    ("[zero] == false", False),
    ("[flag] > 0", False),
    # lists, objects and null have no order
    ("[items] > 0", False),
    ("[labels] < 1", False),
    ("[nothing] < 1", False),
    ("[status] < null", False),
    # missing reads as null
    ("[missing] == null", True),
    ("[nothing] == null", True),
    ("[status] == null", False),
    ('[missing] != "x"', True),
    ("[missing] < 1", False),
    ("[missing] >= 1", False),
    ("[missing] == [also_missing]", True),
    ("[items] == [1, 2.5, \"x\", true]", True),
])
def test_comparisons_across_types_never_raise(expr: str, expected: bool) -> None:
    assert check(expr, SAMPLE) is expected


def test_timestamps_compare_with_timestamps() -> None:
    event = ev(**{"@timestamp": T0, "seen": T0 + timedelta(seconds=1),
                  "naive": datetime(2024, 1, 1)})
    assert check("[seen] > [@timestamp]", event)
    assert not check("[seen] < [@timestamp]", event)
    assert not check("[naive] < [@timestamp]", event)   # naive vs aware: no order, no error
    assert not check('[@timestamp] < "2030"', event)    # a timestamp is not a string


# --- in / not in ----------------------------------------------------------------------
@pytest.mark.parametrize(("expr", "expected"), [
    ("[status] in [500, 502]", True),
    ("[status] in [501, 502]", False),
    ("[status] not in [501, 502]", True),
    ("[status] in [500.0]", True),
    ("[status] in [500]", True),
    ('[status] in ["500"]', False),
    ('[code] in ["500", "501"]', True),
    ("[flag] in [1]", False),
    ("[flag] in [true]", True),
    ("[nothing] in [null, 1]", True),
    ("[items] in [1, 2]", False),
    ("[status] in []", False),
    ('"_dateparsefailure" in [tags]', True),
    ('"_grokparsefailure" in [tags]', False),
    ('"_grokparsefailure" not in [tags]', True),
    ('"_grokparsefailure" not in [no_tags_here]', True),
    ('"x" in [items]', True),
    ("2.5 in [items]", True),
    ("1 in [items]", True),
    ("true in [items]", True),
    ("false in [items]", False),
    ('"timeout" in [message]', True),
    ('"TIMEOUT" in [message]', False),
    ('"env" in [labels]', True),
    ('"prod" in [labels]', False),
    ("5 in [message]", False),
    ('[labels][env] in "production"', True),
    ('[labels][env] in "staging"', False),
    ('[status] in "500"', False),
    ('[labels][env] in [labels]', False),
    ('"beats" in [tags] and "_dateparsefailure" in [tags]', True),
    ("[missing] in [also_missing]", False),
    ('"a" in ["a", "b"]', True),
    ('"a" not in ["b"]', True),
    ('"ell" in "hello"', True),
])
def test_in(expr: str, expected: bool) -> None:
    assert check(expr, SAMPLE) is expected


def test_in_field_against_field() -> None:
    event = ev(allowed=["GET", "HEAD"], method="GET", text="a GET request", other="PUT")
    assert check("[method] in [allowed]", event)
    assert not check("[other] in [allowed]", event)
    assert check("[method] in [text]", event)
    assert check("[other] not in [allowed]", event)


# --- regex ----------------------------------------------------------------------------
@pytest.mark.parametrize(("expr", "expected"), [
    ("[message] =~ /timeout/", True),
    ("[message] =~ /^GET \\/api/", True),
    ("[message] !~ /timeout/", False),
    ("[message] =~ /TIMEOUT/", False),
    ("[message] =~ /(?i)TIMEOUT/", True),
    ("[message] =~ /^second/", True),          # ^ matches at each line, as in Logstash
    ("[message] =~ /line\\z/", True),
    ("[message] =~ /\\/v(?<version>\\d)/", True),
    ("[path] =~ /^\\/a\\/b$/", True),
    ("[status] =~ /500/", False),             # not a string: no match
    ("[status] !~ /500/", True),
    ("[missing] =~ /.*/", False),
    ("[missing] !~ /x/", True),
    ("[tags] =~ /beats/", False),
    ('"literal" =~ /lit/', True),
    ("[labels][env] =~ /^pr/ and [code] =~ /^5\\d\\d$/", True),
])
def test_regex(expr: str, expected: bool) -> None:
    assert check(expr, SAMPLE) is expected


# --- truthiness and existence ---------------------------------------------------------
@pytest.mark.parametrize(("field", "expected"), [
    ("[status]", True), ("[zero]", True), ("[empty]", True), ("[list0]", True),
    ("[labels]", True), ("[flag]", True), ("[off]", False), ("[nothing]", False),
    ("[missing]", False), ("[labels][env]", True), ("[labels][nope]", False),
    ("[items][0]", True), ("[items][9]", False), ("[message][x]", False),
])
def test_truthiness(field: str, expected: bool) -> None:
    assert check(field, SAMPLE) is expected
    assert check(f"!{field}", SAMPLE) is (not expected)
    assert check(f"not {field}", SAMPLE) is (not expected)


@pytest.mark.parametrize(("expr", "expected"), [
    ('"text"', True), ('""', True), ("0", True), ("[1]", True), ("[]", True),
    ("true", True), ("false", False), ("null", False),
])
def test_literal_truthiness(expr: str, expected: bool) -> None:
    assert check(expr, SAMPLE) is expected


def test_metadata_is_readable() -> None:
    assert check('[@metadata][kafka][topic] == "logs"', SAMPLE)
    assert check("[@metadata][flag]", SAMPLE)
    assert check("@metadata.kafka.topic == 'logs'", SAMPLE)
    assert not check("[@metadata][nope]", SAMPLE)
    assert not check("[@metadata][flag] == true", SAMPLE)   # metadata "yes" is a string


def test_bare_dotted_identifiers_are_fields() -> None:
    assert check("http.response.status_code == 503", SAMPLE)
    assert check("status", SAMPLE)
    assert check("labels.env == 'prod'", SAMPLE)
    assert not check("prod == 'prod'", SAMPLE)      # a bare word is a field, not a string
    assert check("@timestamp", SAMPLE)


def test_keyword_named_fields_need_brackets() -> None:
    assert check("[in] == 7", SAMPLE)
    with pytest.raises(ConditionError):
        compile_condition("in == 7")


# --- boolean operators and precedence ------------------------------------------------
BOOLS = ev(t=True, f=False)


@pytest.mark.parametrize(("expr", "expected"), [
    ("[t] and [t]", True), ("[t] and [f]", False),
    ("[f] or [t]", True), ("[f] or [f]", False),
    ("[t] xor [f]", True), ("[t] xor [t]", False), ("[f] xor [f]", False),
    ("[t] nand [t]", False), ("[t] nand [f]", True), ("[f] nand [f]", True),
    ("![t]", False), ("!![t]", True), ("not not [f]", False), ("! [f]", True),
    ("!([t] and [f])", True), ("not ([t] and [f])", True),
    # and binds tighter than or
    ("[t] or [t] and [f]", True),
    ("[f] and [f] or [t]", True),
    # and binds tighter than xor
    ("[t] xor [t] and [f]", True),
    ("[f] and [t] xor [t]", True),
    # xor binds tighter than or
    ("[t] xor [t] or [t]", True),
    ("[t] or [t] xor [t]", True),
    ("[f] or [t] xor [t]", False),
    # and and nand share a level, left to right
    ("[f] and [f] nand [t]", True),
    ("[t] nand [t] and [f]", False),
    # not binds tighter than and
    ("![f] and [f]", False),
    ("not [t] or [t]", True),
    # parentheses override, nest, and may wrap everything
    ("[t] and ([f] or [t])", True),
    ("([t] or [t]) and [f]", False),
    ("((([t])))", True),
    ("(([f] or ([t] and ([f] xor [t])))) and !([f])", True),
    ("!((([t] and [f]) or [f]) xor [f])", True),
])
def test_boolean_operators(expr: str, expected: bool) -> None:
    assert check(expr, BOOLS) is expected


def test_realistic_conditions() -> None:
    expr = '[http][response][status_code] >= 500 and "_grokparsefailure" not in [tags]'
    assert check(expr, SAMPLE)
    assert not check(expr, ev(http={"response": {"status_code": 200}}, tags=[]))
    assert not check(expr, ev(http={"response": {"status_code": 502}},
                              tags=["_grokparsefailure"]))
    assert check("[message] =~ /timeout/ or [status] in [502, 504]", ev(message="ok", status=504))


# --- literals -------------------------------------------------------------------------
@pytest.mark.parametrize(("expr", "event"), [
    (r'[s] == "say \"hi\""', ev(s='say "hi"')),
    (r"[s] == 'it\'s'", ev(s="it's")),
    (r'[s] == "tab\there"', ev(s="tab\there")),
    (r'[s] == "new\nline"', ev(s="new\nline")),
    (r'[s] == "back\\slash"', ev(s="back\\slash")),
    (r'[s] == "C:\dir"', ev(s="C:\\dir")),              # unknown escapes stay as written
    ("[s] == 'double \" inside'", ev(s='double " inside')),
    ("[s] == ''", ev(s="")),
    ("[n] == -3", ev(n=-3)),
    ("[n] == -2.5", ev(n=-2.5)),
    ("[n] == 1e3", ev(n=1000)),
    ("[n] == +4", ev(n=4)),
    ("[n] == .5", ev(n=0.5)),
    ("[n] in [-1, 'a', 2.0]", ev(n=2)),
    ("[n] in [ 'a' , 'b' ]", ev(n="b")),
])
def test_literals(expr: str, event: Event) -> None:
    assert check(expr, event)


def test_whitespace_is_free() -> None:
    assert check("[status]==500 and [code]=='500'", SAMPLE)
    assert check("\n[status] ==\t500\n", SAMPLE)


# --- errors ---------------------------------------------------------------------------
@pytest.mark.parametrize(("expr", "column", "fragment"), [
    ("[a] ==", 7, "expected a value after '=='"),
    ('[a] =~ "x"', 8, "expected /regex/"),
    ("([a] == 1", 10, "expected ')'"),
    ("[a] === 1", 7, "unexpected '='"),
    ('[a] == "abc', 8, "unterminated string"),
    ("and [b]", 1, "expected a value"),
    ("", 1, "empty condition"),
    ("   ", 4, "empty condition"),
    ("[a] == 1 [b]", 10, "unexpected field [b]"),
    ("[a] OR [b]", 5, "keywords are lower case"),
    ("[a] not [b]", 9, "expected 'in' after 'not'"),
    ("![a] == 1", 6, "negate a comparison"),
    ("([a]) == 1", 7, "cannot be compared"),
    ("[a] == /x/", 8, "regex"),
    ("[a] =~ /unclosed", 8, "unterminated regular expression"),
    ("[a] =~ /(/", 8, "bad regular expression"),
    ("[a][]", 4, "empty field name"),
    ("[a", 1, "missing ']'"),
    ("[a] in [1, 2", 8, "unterminated list"),
    ("[a] in [1, 2 3]", 14, "expected ',' or ']'"),
    ("[a] in [1, [b]]", 12, "a list holds only"),
    ("[a] == 12ab", 8, "malformed number"),
    ("[a] == 1 and", 13, "expected a value after 'and'"),
    ("[a] == 1 or or [b]", 13, "expected a value after 'or'"),
    ("[a] == 1)", 9, "unexpected ')'"),
    ("[a] & [b]", 5, "unexpected character '&'"),
    ("a..b", 1, "bad field reference"),
    ("!", 2, "expected a value after '!'"),
    ("[a] in", 7, "expected a value after 'in'"),
])
def test_errors_point_at_the_offending_token(expr: str, column: int, fragment: str) -> None:
    with pytest.raises(ConditionError) as info:
        compile_condition(expr)
    err = info.value
    assert err.column == column, str(err)
    assert err.expression == expr
    assert fragment in str(err)
    assert f"column {column}" in str(err)
    assert isinstance(err, ConfigError)   # a bad condition is a bad configuration (exit 2)


def test_non_string_condition_is_an_error() -> None:
    with pytest.raises(ConditionError):
        compile_condition(42)  # type: ignore[arg-type]


# --- batch helpers and caching -------------------------------------------------------
def test_select_and_partition_keep_order() -> None:
    events = [ev(n=i) for i in range(6)]
    cond = compile_condition("[n] >= 3")
    assert select(cond, events) == [False, False, False, True, True, True]
    yes, no = partition(cond, events)
    assert [e.data["n"] for e in yes] == [3, 4, 5]
    assert [e.data["n"] for e in no] == [0, 1, 2]


def test_same_text_compiles_once() -> None:
    assert compile_condition("[x] == 1") is compile_condition("[x] == 1")


def test_constant_parts_fold_away() -> None:
    assert compile_condition('"a" == "a" or [x]')(ev()) is True
    assert compile_condition("false and [x]")(ev(x=1)) is False
    assert compile_condition("[x] xor true")(ev(x=1)) is False


# --- property: generated expressions agree with a plain reference evaluator ---------
# Operands and the reference semantics below restate the documented rules
# independently of the implementation.
FIELDS = {"[a]": ("a",), "b": ("b",), "[n][x]": ("n", "x"), "[tags]": ("tags",),
          "[missing]": ("missing",), "[@metadata][m]": ("@metadata", "m"), "n.y": ("n", "y")}
PATTERNS = {"/a/": re.compile("a", re.M), "/^x/": re.compile("^x", re.M),
            "/\\//": re.compile("/", re.M), "/b$/": re.compile("b$", re.M)}
scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3),
                    st.floats(-3, 3, allow_nan=False).map(lambda f: round(f, 1)),
                    st.sampled_from(["", "a", "b", "x/a", "ab", "a\nx"]))
values = st.one_of(scalars, st.lists(scalars, max_size=3),
                   st.dictionaries(st.sampled_from(["a", "b", "x"]), scalars, max_size=2))


def _lit(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(v, list):
        return "[" + ", ".join(_lit(x) for x in v) + "]"
    return repr(v)


literal_scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3),
                            st.sampled_from([0.5, -1.5, 2.0]),
                            st.sampled_from(["", "a", "b", "ab", "x/a"]))
literal_lists = st.lists(st.one_of(st.integers(-3, 3), st.sampled_from(["a", "b", "ab"]),
                                   st.booleans(), st.none()), min_size=1, max_size=3)
operands = st.one_of(
    st.sampled_from(sorted(FIELDS)).map(lambda f: ("field", f)),
    literal_scalars.map(lambda v: ("lit", v)),
    literal_lists.map(lambda v: ("lit", v)),
)


def _atoms() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.tuples(st.just("cmp"), st.sampled_from(["==", "!=", "<", "<=", ">", ">="]),
                  operands, operands),
        st.tuples(st.just("in"), st.booleans(), operands, operands),
        st.tuples(st.just("match"), st.booleans(), operands, st.sampled_from(sorted(PATTERNS))),
        st.tuples(st.just("truthy"), operands),
    )


conditions = st.recursive(
    _atoms(),
    lambda inner: st.one_of(
        st.tuples(st.just("not"), st.sampled_from(["!", "not "]), inner),
        st.tuples(st.just("bool"), st.sampled_from(["and", "or", "xor", "nand"]), inner, inner),
    ),
    max_leaves=8,
)


def _render_operand(op: tuple[str, Any]) -> str:
    return op[1] if op[0] == "field" else _lit(op[1])


_LEVEL = {"or": 1, "xor": 2, "and": 3, "nand": 3}


def _render(node: Any, minimal: bool) -> str:
    """Source text; ``minimal`` uses only the parentheses the precedence rules need."""
    kind = node[0]
    if kind == "cmp":
        return f"{_render_operand(node[2])} {node[1]} {_render_operand(node[3])}"
    if kind == "in":
        return f"{_render_operand(node[2])} {'not in' if node[1] else 'in'} {_render_operand(node[3])}"
    if kind == "match":
        return f"{_render_operand(node[2])} {'!~' if node[1] else '=~'} {node[3]}"
    if kind == "truthy":
        return _render_operand(node[1])
    if kind == "not":
        inner = node[2]
        if inner[0] == "truthy":
            return node[1] + _render(inner, minimal)
        return f"{node[1]}({_render(inner, minimal)})"
    op, left, right = node[1], node[2], node[3]
    ltext, rtext = _render(left, minimal), _render(right, minimal)
    if not minimal:
        return f"({ltext}) {op} ({rtext})"
    if left[0] == "bool" and _LEVEL[left[1]] < _LEVEL[op]:
        ltext = f"({ltext})"
    if right[0] == "bool" and _LEVEL[right[1]] <= _LEVEL[op]:
        rtext = f"({rtext})"
    return f"{ltext} {op} {rtext}"


def _ref_get(data: dict[str, Any], meta: dict[str, Any], path: tuple[str, ...]) -> Any:
    cur: Any = meta if path[0] == "@metadata" else data
    for key in path[1:] if path[0] == "@metadata" else path:
        if isinstance(cur, dict) and key in cur:
            cur = cur[key]
        elif isinstance(cur, list) and key.isdigit() and int(key) < len(cur):
            cur = cur[int(key)]
        else:
            return None
    return cur


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _ref_eq(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return a == b


def _ref_eval(node: Any, data: dict[str, Any], meta: dict[str, Any]) -> bool:
    def val(op: tuple[str, Any]) -> Any:
        return _ref_get(data, meta, FIELDS[op[1]]) if op[0] == "field" else op[1]

    kind = node[0]
    if kind == "cmp":
        a, b = val(node[2]), val(node[3])
        if node[1] == "==":
            return _ref_eq(a, b)
        if node[1] == "!=":
            return not _ref_eq(a, b)
        if not ((_is_number(a) and _is_number(b)) or (type(a) is str and type(b) is str)):
            return False
        return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[node[1]]
    if kind == "in":
        item, container = val(node[2]), val(node[3])
        if isinstance(container, list):
            found = any(_ref_eq(item, x) for x in container)
        elif isinstance(container, (str, dict)):
            found = isinstance(item, str) and item in container
        else:
            found = False
        return found != node[1]
    if kind == "match":
        v = val(node[2])
        matched = isinstance(v, str) and PATTERNS[node[3]].search(v) is not None
        return matched != node[1]
    if kind == "truthy":
        v = val(node[1])
        return v is not None and v is not False
    if kind == "not":
        return not _ref_eval(node[2], data, meta)
    a, b = _ref_eval(node[2], data, meta), _ref_eval(node[3], data, meta)
    return {"and": a and b, "or": a or b, "xor": a != b, "nand": not (a and b)}[node[1]]


events_data = st.fixed_dictionaries(
    {},
    optional={"a": values, "b": values, "tags": st.lists(st.sampled_from(["a", "b", "ab"]), max_size=3),
              "n": st.one_of(values, st.fixed_dictionaries({}, optional={"x": values, "y": values}))},
)
metadata = st.fixed_dictionaries({}, optional={"m": values})


@settings(max_examples=400, deadline=None)
@given(tree=conditions, data=events_data, meta=metadata, minimal=st.booleans())
def test_generated_conditions_compile_and_agree_with_reference(
        tree: Any, data: dict[str, Any], meta: dict[str, Any], minimal: bool) -> None:
    text = _render(tree, minimal)
    cond = compile_condition(text)
    event = Event(dict(data), dict(meta))
    result = cond(event)
    assert type(result) is bool
    assert result == _ref_eval(tree, data, meta), text
