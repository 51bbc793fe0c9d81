"""Conditions compiled to one generated Python function each.

A parsed condition (:mod:`logpipe.core.conditions`) becomes the source text of a
single expression, compiled once: ``[a][b] and "x" in [tags]`` runs as inline
``dict.get`` calls and comparisons in one frame, instead of a closure call per
operator and per field read. Conditions are evaluated on every event of every
batch, so that call overhead was most of their cost.

Two functions come out of one expression: the condition itself (a function of
one event) and, as its ``many`` attribute, a list comprehension over a batch
answering the verdicts with no Python call per event; ``logpipe.core.stages``
uses the latter. Where the native module can run the condition as a program over
the batch (logpipe.core.condition_native), ``many`` is that one call instead,
with the generated code for the events it leaves to Python. A regular
expression test on a string goes first to the native engine when its pattern
means the same there (logpipe.core.condition_regex), and to ``re`` for text
outside ASCII or when it does not.

Semantics are those of the reference evaluator (``conditions.closures``), which
property tests compare against on random events: each construct below mirrors
one closure there. Field reads answer what ``Event.get_path`` answers: plain dicts
are walked inline, and anything else on the way (a list index, a scalar, a dict
subclass) is handed to ``get_path``. Strings (field names, literals) appear in
the source as their ``repr``, which Python reads back as the same string; every
other constant is bound by name: no value can change what the code says.
"""
from __future__ import annotations

import re
from types import FunctionType
from typing import Any, Callable

from logpipe.core import conditions as c
from logpipe.core.condition_native import batch_program
from logpipe.core.condition_regex import ascii_test
from logpipe.core.event import METADATA, Event
from logpipe.core.fieldref import Path

Condition = Callable[[Event], bool]

_TRUE, _FALSE = "True", "False"


def generate(node: c.Node, expr: str = "", *, native: bool = True) -> Condition:
    """The compiled condition for ``node`` (``expr``, its text, names the code);
    ``native``: regular expressions may use the native engine where it answers as
    ``re`` does (logpipe.core.condition_regex), and the batch form the native
    program (logpipe.core.condition_native), when the module is there and on."""
    gen = _Generator(native=native)
    body = gen.node(node)
    name = f"<condition {expr!r}>"
    source = ("def condition(e):\n"
              f"    return {body}\n")
    namespace: dict[str, Any] = dict(gen.names)
    exec(compile(source, name, "exec"), namespace)  # noqa: S102 - our own generated text; constants are reprs or names
    condition: Any = namespace["condition"]
    # The program calls the condition for the events it leaves to Python: a copy of the
    # function over its own globals, so that nothing the program holds leads back to it
    # (it is no object the garbage collector looks into).
    fallback = FunctionType(condition.__code__, dict(gen.names), "condition")
    program = batch_program(node, fallback) if native else None
    if program is None:
        many_source = ("def many(events):\n"
                       f"    return [{body} for e in events]\n")
        exec(compile(many_source, name, "exec"), namespace)  # noqa: S102 - as above
        many = namespace["many"]
    else:
        # Recorded, not run: the program is ``many`` itself, and calls ``condition`` for
        # the events it cannot judge.
        many_source = "# many(events) is _program(events), the native program (condition_native)\n"
        many = program
    source += many_source
    condition.many = many
    condition.source = source
    condition.__qualname__ = condition.__name__ = "condition"
    condition.__doc__ = expr or None
    return condition


def _not(text: str) -> str:
    if text == _TRUE:
        return _FALSE
    if text == _FALSE:
        return _TRUE
    return f"(not {text})"


def _const(value: bool) -> str:
    return _TRUE if value else _FALSE


class _Generator:
    """Builds the expression text; ``names`` collects what the text refers to."""

    def __init__(self, *, native: bool = True) -> None:
        self.native = native
        self.names: dict[str, Any] = {
            "_get_path": Event.get_path, "_NUMBERS": c._NUMBERS, "_equal": c._equal,
            "_contains": c._contains, "dict": dict, "str": str, "list": list,
            "bool": bool, "int": int, "float": float, "type": type}
        self._count = 0

    def fresh(self, prefix: str) -> str:
        self._count += 1
        return f"{prefix}{self._count}"

    def bind(self, value: Any, prefix: str = "_k") -> str:
        """A name in the source for ``value``; a string is written as its ``repr``,
        which reads back as the same string and loads as a constant."""
        if type(value) is str:
            return repr(value)
        name = self.fresh(prefix)
        self.names[name] = value
        return name

    # -- operators ----------------------------------------------------------------
    def node(self, node: c.Node) -> str:
        if isinstance(node, c.Truth):
            return self.truth(node.operand, node.negate)
        if isinstance(node, c.Compare):
            return self.compare(node.op, node.left, node.right)
        if isinstance(node, c.In):
            return self.contains(node.item, node.container)
        if isinstance(node, c.Match):
            return self.match(node.operand, node.pattern, node.negate)
        if isinstance(node, c.Not):
            return _not(self.node(node.node))
        left, right = self.node(node.left), self.node(node.right)
        if isinstance(node, c.And):
            if _FALSE in (left, right):
                return _FALSE
            if left == _TRUE:
                return right
            return left if right == _TRUE else f"({left} and {right})"
        if isinstance(node, c.Or):
            if _TRUE in (left, right):
                return _TRUE
            if left == _FALSE:
                return right
            return left if right == _FALSE else f"({left} or {right})"
        # xor
        if left in (_TRUE, _FALSE):
            return _not(right) if left == _TRUE else right
        if right in (_TRUE, _FALSE):
            return _not(left) if right == _TRUE else left
        return f"({left} != {right})"

    # -- field reads ----------------------------------------------------------------
    def read(self, path: Path) -> str:
        """An expression answering ``e.get_path(path)``."""
        whole = self.bind(path, "_path")
        fallback = f"_get_path(e, {whole})"
        if path[0] == METADATA:
            if len(path) == 2:
                return f"e.metadata.get({self.bind(path[1])})"
            return fallback
        return self._walk("e.data", list(path), fallback)

    def _walk(self, holder: str, keys: list[str], fallback: str) -> str:
        key = self.bind(keys[0])
        if len(keys) == 1:
            return f"{holder}.get({key})"
        node = self.fresh("n")
        inner = self._walk(node, keys[1:], fallback)
        # A dict goes on inline; absent (None) answers None as get_path does; the rest
        # (lists, scalars, dict subclasses) is get_path's to answer.
        return (f"({inner} if type({node} := {holder}.get({key})) is dict "
                f"else None if {node} is None else {fallback})")

    # -- constructs ---------------------------------------------------------------------
    def truth(self, operand: c._Operand, negate: bool) -> str:
        if not operand.is_field:
            return _const(c._is_true(operand.value) != negate)
        v = self.fresh("v")
        if negate:
            return f"(({v} := {self.read(operand.value)}) is None or {v} is False)"
        return f"(({v} := {self.read(operand.value)}) is not None and {v} is not False)"

    def compare(self, op: str, left: c._Operand, right: c._Operand) -> str:
        if not left.is_field and not right.is_field:
            return _const(c._value_test(op)(left.value, right.value))
        if not left.is_field:
            left, right, op = right, left, c._FLIP[op]
        if right.is_field:
            test = self.bind(c._value_test(op), "_test")
            return f"{test}({self.read(left.value)}, {self.read(right.value)})"
        return self.compare_const(op, left.value, right.value)

    def compare_const(self, op: str, path: Path, const: Any) -> str:
        read = self.read(path)
        k = self.bind(const)
        v = self.fresh("v")
        if op in ("==", "!="):
            if const is None or type(const) is bool:
                text = f"({read} is {k})"
            elif type(const) in c._NUMBERS:
                text = f"(({v} := {read}) == {k} and type({v}) is not bool)"
            elif type(const) is str:
                text = f"({read} == {k})"
            else:   # a list literal
                text = f"_equal({read}, {k})"
            return _not(text) if op == "!=" else text
        if type(const) in c._NUMBERS:
            return f"(type({v} := {read}) in _NUMBERS and {v} {op} {k})"
        if type(const) is str:
            return f"(type({v} := {read}) is str and {v} {op} {k})"
        return _FALSE   # null, booleans and lists have no order

    def contains(self, item: c._Operand, container: c._Operand) -> str:
        if not item.is_field and not container.is_field:
            return _const(c._contains(container.value, item.value))
        v = self.fresh("v")
        if item.is_field and not container.is_field:
            literal = container.value
            read = self.read(item.value)
            if type(literal) is list:
                return self.member(read, literal)
            if type(literal) is str:
                return f"(type({v} := {read}) is str and {v} in {self.bind(literal)})"
            return _FALSE   # numbers, booleans and null contain nothing
        if not item.is_field and type(item.value) is str:
            lit = self.bind(item.value)
            read = self.read(container.value)
            return (f"(((t{v} := type({v} := {read})) is list or t{v} is str or t{v} is dict) "
                    f"and {lit} in {v})")
        get_item = self.read(item.value) if item.is_field else self.bind(item.value)
        get_container = (self.read(container.value) if container.is_field
                         else self.bind(container.value))
        return f"_contains({get_container}, {get_item})"

    def member(self, read: str, items: list[Any]) -> str:
        """Strict membership in a list literal, as ``conditions._membership``: values
        are looked up among the literal's items of their own type."""
        strs = frozenset(x for x in items if type(x) is str)
        nums = frozenset(x for x in items if type(x) in c._NUMBERS)
        bools = frozenset(x for x in items if type(x) is bool)
        has_null = any(x is None for x in items)
        v = self.fresh("v")
        t = f"t{v}"
        clauses = [(types, self.bind(found)) for types, found in
                   ((("str",), strs), (("int", "float"), nums), (("bool",), bools)) if found]
        if not clauses:
            return f"({read} is None)" if has_null else _FALSE
        # The first type test reads the value and names it and its type for the rest.
        chain: list[str] = []
        for index, (types, name) in enumerate(clauses):
            tests = [f"{t} is {typ}" for typ in types]
            if index == 0:
                tests[0] = f"({t} := type({v} := {read})) is {types[0]}"
            chain.append(f"{v} in {name} if {' or '.join(tests)}")
        chain.append(f"{v} is None" if has_null else _FALSE)
        return f"({' else '.join(chain)})"

    def match(self, operand: c._Operand, pattern: re.Pattern[str], negate: bool) -> str:
        needed = c._required_char(pattern)
        if not operand.is_field:
            v = operand.value
            return _const((isinstance(v, str) and pattern.search(v) is not None) != negate)
        read = self.read(operand.value)
        search = self.bind(pattern.search, "_search")
        v = self.fresh("v")
        need = f" and {self.bind(needed)} in {v}" if needed is not None else ""
        if c._starts_at_line_start(pattern):
            # Only position 0 can start a match in a value without a newline (see
            # conditions._match): ``match`` tries that one instead of every position.
            at_start = self.bind(pattern.match, "_match")
            found = f"({at_start}({v}) if '\\n' not in {v} else {search}({v}))"
        else:
            found = f"{search}({v})"
        found = f"{found} is not None"
        native = ascii_test(pattern) if self.native else None
        if native is not None:
            # The native test answers for ASCII text and None for the rest, which re judges.
            test, r = self.bind(native, "_ascii"), self.fresh("r")
            found = f"(({found}) if ({r} := {test}({v})) is None else {r})"
        text = f"(type({v} := {read}) is str{need} and {found})"
        return _not(text) if negate else text
