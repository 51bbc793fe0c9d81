"""The native batch form of a condition answers what the generated code answers.

logpipe.core.condition_native writes the conditions made of field truth,
``==``/``!=`` against null, booleans and strings, ``"text" in [field]`` and
native-ready regular expressions as a program that ``logpipe_native`` runs over
a batch; the events it cannot judge (lists, scalars and dict subclasses on a
path, values with their own ``==``, text outside ASCII) go back to the generated
code. Random conditions of that grammar over random events must give the
reference evaluator's verdicts, and the stage's verdicts when an evaluation
raises must be those of the Python batch form.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logpipe.core import conditions as c
from logpipe.core.condition_codegen import generate
from logpipe.core.condition_native import batch_program
from logpipe.core.event import Event
from logpipe.core.native import native_module
from logpipe.core.stages import _verdicts

needs_native = pytest.mark.skipif(native_module() is None, reason="logpipe_native absent or off")


class Loud(str):
    """A str subclass: a non-string to conditions, and equal to everything."""

    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = str.__hash__


class Raising:
    def __eq__(self, other: object) -> bool:
        raise RuntimeError("no comparing me")

    __hash__ = object.__hash__


KEYS = ["a", "b", "tags", "0"]
TEXTS = ["", "a", "x", "GET /a HTTP/1.1", "é", "{\"a\": 1}", "  {", "a\nb", "\ud800", "access"]
leaves = st.one_of(st.none(), st.booleans(), st.integers(-1, 1), st.just(1.0),
                   st.sampled_from(TEXTS), st.sampled_from(TEXTS).map(Loud),
                   st.just(Raising()).map(lambda r: r))
values = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=3),
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=2).map(OrderedDict),
    ),
    max_leaves=8,
)


def _event(data: Any, meta: dict[str, Any]) -> Event:
    event = Event({}, meta)
    event.data = data   # sometimes a dict subclass: the program leaves it to Python
    return event


class SubEvent(Event):
    """A subclass: its slots are the parent's, but the program reads them through getattr."""

    __slots__ = ()


class ShadowEvent(Event):
    """A subclass whose ``data`` is a property: what it answers, not the slot, is the data."""

    __slots__ = ()

    @property   # type: ignore[override]
    def data(self) -> Any:
        return {"a": "x", "b": {"b": True}, "tags": ["access"]}

    @data.setter
    def data(self, value: Any) -> None:
        pass


class Lookalike:
    """Not an event at all: plain attributes named like an event's slots."""

    def __init__(self, data: Any, metadata: Any) -> None:
        self.data = data
        self.metadata = metadata


def _shaped(event: Event, shape: str) -> Any:
    """The event as one of the objects a batch may hold (the program reads the slots of
    exactly ``Event`` directly, everything else through ``getattr``)."""
    if shape == "sub":
        out: Any = SubEvent.__new__(SubEvent)
    elif shape == "shadow":
        out = ShadowEvent.__new__(ShadowEvent)
    elif shape == "lookalike":
        return Lookalike(event.data, event.metadata)
    else:
        out = Event.__new__(Event)
    if shape != "no data":
        out.data = event.data
    if shape != "no metadata":
        out.metadata = event.metadata
    return out


events = st.builds(
    _shaped,
    st.builds(
        _event,
        st.one_of(st.dictionaries(st.sampled_from(KEYS), values, max_size=4),
                  st.dictionaries(st.sampled_from(KEYS), values, max_size=2).map(OrderedDict)),
        st.dictionaries(st.sampled_from(KEYS), values, max_size=2),
    ),
    st.sampled_from(["plain"] * 6 + ["sub", "shadow", "lookalike", "no data", "no metadata"]),
)

FIELDS = ["[a]", "[b]", "[tags]", "[a][b]", "[a][0]", "[a][b][a]", "[@metadata][a]",
          "[@metadata][a][b]", "a.tags"]
CONSTANTS = ["null", "true", "false", '"a"', '""', '"é"', '"access"']
REGEXES = ["/^a/", "/\\{/", "/a|b/", "/^\\s*\\{/", "/\\bGET \\S+ HTTP\\/\\d/", "/b$/"]

fields = st.sampled_from(FIELDS)
leaf_conditions = st.one_of(
    fields,
    fields.map(lambda f: f"!{f}"),
    st.tuples(fields, st.sampled_from(["==", "!="]), st.sampled_from(CONSTANTS)).map(" ".join),
    st.tuples(st.sampled_from(CONSTANTS), st.sampled_from(["==", "!="]), fields).map(" ".join),
    st.tuples(st.sampled_from(['"a"', '"access"', '"é"', '""']), st.sampled_from(["in", "not in"]),
              fields).map(" ".join),
    st.tuples(fields, st.sampled_from(["=~", "!~"]), st.sampled_from(REGEXES)).map(" ".join),
    st.sampled_from(["true", "false", '"a" in "abc"', "null == null"]),
)
conditions = st.recursive(
    leaf_conditions,
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["and", "or", "xor", "nand"]), inner).map(" ".join),
        inner.map(lambda x: f"!({x})"),
    ),
    max_leaves=5,
)


def _answers(cond: Any, batch: list[Event]) -> list[Any]:
    out: list[Any] = []
    for event in batch:
        try:
            out.append(cond(event))
        except Exception as exc:
            out.append(type(exc))
    return out


def _batch_answers(many: Any, batch: list[Event]) -> list[Any] | type[Exception]:
    try:
        return list(many(batch))
    except Exception as exc:
        return type(exc)


@needs_native
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conditions, st.lists(events, min_size=1, max_size=8))
def test_the_native_batch_form_agrees_with_the_generated_code(expr: str,
                                                             batch: list[Event]) -> None:
    node = c.parse(expr)
    native = generate(node, expr, native=True)
    python = generate(node, expr, native=False)
    assert ("_program" in native.source) == (batch_program(node) is not None)   # type: ignore[attr-defined]
    expected = _answers(c.interpret(expr), batch)
    assert _answers(python, batch) == expected
    # The batch forms: the same list, or the same exception (the stage then asks per event).
    assert _batch_answers(native.many, batch) == _batch_answers(python.many, batch)  # type: ignore[attr-defined]
    assert _verdicts(native, batch) == _verdicts(python, batch)


def test_constructs_outside_the_program_keep_the_generated_code() -> None:
    for expr in ["[a] == 1", "[a] > 'b'", "[a] in ['x', 'y']", "[a] == [b]", "[a] in [b]",
                 "[@metadata]", "[a] =~ /(?i)x/", "[a] and [b] < 2"]:
        assert batch_program(c.parse(expr)) is None, expr


@needs_native
def test_only_constants_keep_the_generated_code() -> None:
    """Where the program would not pay: nothing to read."""
    for expr in ["true", "!false", "'a' in 'abc' and null == null"]:
        assert batch_program(c.parse(expr)) is None, expr
    for expr in ["[a]", "![@metadata][a]", "[a] and ![b] or [c] == 'x'", "[a] != null",
                 "[a][b]", "'x' in [a]", "[a] =~ /x/", "[a] and [@metadata][b][c] == true"]:
        assert batch_program(c.parse(expr)) is not None, expr


def test_no_program_when_the_module_is_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGPIPE_NATIVE", "off")
    compiled = generate(c.parse("[a] and 'x' in [tags]"), native=True)
    assert "_program" not in compiled.source   # type: ignore[attr-defined]
    assert compiled.many([Event({"a": 1, "tags": ["x"]}), Event({})]) == [True, False]  # type: ignore[attr-defined]


PIPELINE = [
    "![service][name] and [message] =~ /^\\S+ \\S+ \\S+ \\[[^\\]]*\\] \"|\\bGET \\S+.* HTTP\\/\\d/",
    "[remote_addr] and [status] and ![http][response][status_code]",
    '"_grokparsefailure" in [tags] and ![service][name]',
    "[http][response][status_code]",
    "[@metadata][access_time][x] or [url][original]",
    "![@metadata][category] and ([performance][slo_breach] == true or [db][statement])",
    '![@metadata][category] and ("access" in [tags] or [event][dataset] == "graphmemory.access")',
]


def _awkward_events() -> list[Event]:
    """Each kind of value the program must leave to Python, next to plain ones."""
    out = [Event({}), Event({"message": "1.2.3.4 - - [x] \"GET / HTTP/1.1\" 200 1"})]
    for v in [None, False, True, 0, 1.0, "", "x", "é [x] \"", "\ud800", Loud("x"), [], ["access"],
              ["x", Raising()], [Raising(), "access"], {"name": "a"}, OrderedDict(name="a"),
              {"response": {"status_code": 200}}, {"response": [1]}, {"slo_breach": True},
              {"dataset": "graphmemory.access"}, {"dataset": Loud("x")}]:
        for key in ["message", "tags", "service", "http", "performance", "event", "db",
                    "remote_addr", "status"]:
            out.append(Event({key: v}, {"category": v, "access_time": v}))
            out.append(Event({key: v, "message": "GET /a HTTP/1.0"}, {}))
    event = Event({"message": "GET /a HTTP/1.1"})
    event.data = OrderedDict(event.data)
    out.append(event)
    return out


@needs_native
@pytest.mark.parametrize("expr", PIPELINE)
def test_pipeline_shapes_on_awkward_values(expr: str) -> None:
    batch = _awkward_events()
    node = c.parse(expr)
    native = generate(node, expr, native=True)
    python = generate(node, expr, native=False)
    assert "_program" in native.source   # type: ignore[attr-defined]
    assert _verdicts(native, batch) == _verdicts(python, batch)
    safe = [e for e in batch if not isinstance(e.data.get("tags"), list)
            or not any(isinstance(t, Raising) for t in e.data["tags"])]
    assert native.many(safe) == _answers(c.interpret(expr), safe)   # type: ignore[attr-defined]


@needs_native
def test_an_event_that_raises_costs_only_its_own_verdict() -> None:
    expr = '"access" in [tags] or [a] == "x"'
    native = generate(c.parse(expr), expr, native=True)
    batch = [Event({"tags": ["access"]}), Event({"tags": [Raising()]}), Event({"a": "x"}),
             Event({"tags": "no access"}), Event({"tags": {"access": 1}}), Event({"a": Loud("y")})]
    with pytest.raises(RuntimeError):
        native.many(batch)   # type: ignore[attr-defined]
    assert _verdicts(native, batch) == [True, False, True, True, True, True]


@needs_native
def test_the_slots_of_exactly_event_are_read_directly() -> None:
    """The program finds where ``Event`` keeps ``data`` and ``metadata``; a class it
    cannot place (no such slots) leaves every event to ``getattr``, with the same verdicts."""
    native = native_module()
    assert native is not None
    program = ("and", ("truth", 0, ["a", "b"], False), ("streq", 1, ["c"], "x"))
    direct = native.ConditionProgram(program, Event)
    assert direct.reads_slots()
    assert not native.ConditionProgram(program, Lookalike).reads_slots()
    assert not native.ConditionProgram(program).reads_slots()
    unset = Event.__new__(Event)
    unset.data = {"a": {"b": 1}}
    batch = [Event({"a": {"b": 1}}, {"c": "x"}), Event({"a": {"b": None}}, {"c": "x"}),
             Event({"a": {"b": 1}}, {}), SubEvent({"a": {"b": 1}}, {"c": "x"}),
             Lookalike({"a": {"b": 1}}, {"c": "x"}), Lookalike({"a": {"b": 1}}, None), unset]
    for made in [direct, native.ConditionProgram(program, Lookalike), native.ConditionProgram(program)]:
        assert made.verdicts(batch) == [True, False, False, True, True, None, None]


@needs_native
def test_a_value_that_rebinds_the_events_data_while_judged() -> None:
    """``in`` runs an element's own ``==``: one that rebinds events' data meanwhile
    (dropping the dicts the program looked at ahead) changes nothing the program reads."""
    batch = [Event({"tags": []}) for _ in range(64)]

    class Rebinder:
        def __eq__(self, other: object) -> bool:
            for event in batch:
                event.data = {"tags": ["access"]}
            return False

        __hash__ = object.__hash__

    batch[0].data["tags"] = [Rebinder()]
    expr = '"access" in [tags] and [tags][0] == "access"'
    python = generate(c.parse(expr), expr, native=False)
    native = generate(c.parse(expr), expr, native=True)
    assert "_program" in native.source   # type: ignore[attr-defined]
    verdicts = native.many(batch)   # type: ignore[attr-defined]
    assert verdicts == [False] + [True] * 63
    for event in batch[1:]:
        assert python(event) is True


@needs_native
def test_a_key_that_rebinds_the_events_data_while_looked_up_ahead() -> None:
    """Before judging a batch the program looks up its first read's path in every
    event; a key object whose ``==`` runs then (it shares the hash of a key on the
    path) and drops the dicts of the other events must not leave it reading freed
    ones. The new dicts say the same, so the verdicts are the generated code's."""
    def fresh(i: int) -> dict[str, Any]:
        return {"http": {"response": "x" if i % 2 else "y"}}

    batch = [Event(fresh(i)) for i in range(64)]

    class Collider:
        done = False

        def __hash__(self) -> int:
            return hash("http")

        def __eq__(self, other: object) -> bool:
            if not Collider.done:
                Collider.done = True
                for i, event in enumerate(batch):
                    event.data = fresh(i)
            return False

    first = {Collider(): 1}
    first.update(fresh(0))
    batch[0].data = first
    expr = '[http][response] == "x"'
    native = generate(c.parse(expr), expr, native=True)
    python = generate(c.parse(expr), expr, native=False)
    assert "_program" in native.source   # type: ignore[attr-defined]
    verdicts = native.many(batch)   # type: ignore[attr-defined]
    assert Collider.done
    assert verdicts == [python(event) for event in batch] == [i % 2 == 1 for i in range(64)]


@needs_native
def test_the_program_calls_the_generated_code_in_place() -> None:
    """The events the program cannot judge get the generated condition's answer from
    inside the same call, in order; its first exception is the call's; any iterable
    of events is taken."""
    native = native_module()
    assert native is not None
    seen: list[Any] = []

    def fallback(event: Any) -> Any:
        seen.append(event)
        if event.data.get("boom"):
            raise KeyError("boom")
        return "python's"

    program = native.ConditionProgram(("truth", 0, ["a", "b"], False), Event, fallback)
    listed = [Event({"a": {"b": 1}}), Event({"a": [1]}), Event({}), Event({"a": "x"})]
    assert program.verdicts(listed) == [True, "python's", False, "python's"]
    assert seen == [listed[1], listed[3]]
    assert program.verdicts(iter(listed)) == program.verdicts(tuple(listed)) == program.verdicts(listed)
    with pytest.raises(KeyError):
        program.verdicts([Event({"a": [1], "boom": 1}), Event({"a": "x"})])
    expr = "[a][b] and [c]"
    compiled = generate(c.parse(expr), expr, native=True)
    assert "_program" in compiled.source   # type: ignore[attr-defined]
    assert compiled.many(e for e in listed) == [False, False, False, False]   # type: ignore[attr-defined]
