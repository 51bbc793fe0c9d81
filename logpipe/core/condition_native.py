"""A condition's batch form as one native call (``logpipe_native.ConditionProgram``).

The generated code (logpipe.core.condition_codegen) evaluates a condition in a
list comprehension: a few dozen bytecodes per event for the reads, type tests and
comparisons. The constructs whose meaning needs only plain dicts, strings and
identity are written here as a small program (nested tuples, see
native/src/condprog.rs) that the native module runs over a whole batch:

- a field's truth (``[a][b]``, ``![a]``);
- ``==``/``!=`` against ``null``, ``true``, ``false`` or a string;
- ``"text" in [field]``;
- ``=~``/``!~`` whose pattern the native regex engine takes
  (logpipe.core.condition_regex);
- ``and``, ``or``, ``xor``, ``nand``, ``!``, and the constant parts the other
  constructs fold to.

Anything else (numbers, ordering, list literals, two fields compared) leaves the
whole condition to the generated code, and so does a condition that reads no
field at all (see ``_pays``). For an event whose verdict needs Python (a list or
scalar on a path, a dict subclass, a value with its own ``==``, text outside
ASCII for a regex) the program calls the generated code, which evaluates that
event from the start, so its verdict, or exception, is the generated code's own. The program is given the ``Event`` class, whose slots it
then reads directly (and loads ahead for the whole batch) in events of exactly
that class; other objects are read through ``getattr``.
"""
from __future__ import annotations

from typing import Any, Callable

from logpipe.core import conditions as c
from logpipe.core.condition_regex import native_pattern
from logpipe.core.event import METADATA, Event
from logpipe.core.fieldref import Path
from logpipe.core.native import native_module

Verdicts = Callable[[list[Any]], list[Any]]


class _Unsupported(Exception):
    """A construct the program does not carry."""


def batch_program(node: c.Node, fallback: Callable[[Any], Any] | None = None) -> Verdicts | None:
    """The native verdicts of ``node`` for a list of events, or None when the condition
    keeps its generated code (a construct above, or no native module). ``fallback``,
    the generated condition, answers (or raises) for the events the program leaves to
    Python, from inside the same call; without it their verdict is None."""
    native = native_module()
    if native is None:
        return None
    try:
        program = _Writer().node(node)
        if not _pays(program):
            return None
        verdicts: Verdicts = native.ConditionProgram(program, Event, fallback).verdicts
    except _Unsupported:
        return None
    except Exception:   # a text the module cannot take (a lone surrogate): keep Python
        return None
    return verdicts


def _pays(program: tuple[Any, ...]) -> bool:
    """Whether the program saves work: it must read a field. A constant costs the
    generated code nothing per event. Reads of one key each (``[a] and
    ![@metadata][b]``) used to be left to the generated code, whose ``dict.get`` was
    cheaper than the program's ``getattr`` of the event's attributes; reading the
    slots directly, the program is the cheaper of the two on the graphmemory
    conditions, and loads the batch ahead where the generated code waits for it."""
    op = program[0]
    if op == "const":
        return False
    if op in ("truth", "is", "streq", "in", "match"):
        return True
    return any(_pays(part) for part in program[1:] if type(part) is tuple)


def _read(path: Path) -> tuple[int, list[str]]:
    if path[0] == METADATA:
        if len(path) == 1:
            raise _Unsupported("the whole metadata")
        return 1, list(path[1:])
    return 0, list(path)


class _Writer:
    def node(self, node: c.Node) -> tuple[Any, ...]:
        if isinstance(node, c.Truth):
            return self.truth(node.operand, node.negate)
        if isinstance(node, c.Compare):
            return self.compare(node.op, node.left, node.right)
        if isinstance(node, c.In):
            return self.contains(node.item, node.container)
        if isinstance(node, c.Match):
            return self.match(node.operand, node.pattern, node.negate)
        if isinstance(node, c.Not):
            return ("not", self.node(node.node))
        left, right = self.node(node.left), self.node(node.right)
        if isinstance(node, c.And):
            return ("and", left, right)
        if isinstance(node, c.Or):
            return ("or", left, right)
        if isinstance(node, c.Xor):
            return ("xor", left, right)
        raise _Unsupported(type(node).__name__)

    def truth(self, operand: c._Operand, negate: bool) -> tuple[Any, ...]:
        if not operand.is_field:
            return ("const", c._is_true(operand.value) != negate)
        return ("truth", *_read(operand.value), negate)

    def compare(self, op: str, left: c._Operand, right: c._Operand) -> tuple[Any, ...]:
        if not left.is_field and not right.is_field:
            return ("const", bool(c._value_test(op)(left.value, right.value)))
        if not left.is_field:
            left, right, op = right, left, c._FLIP[op]
        if right.is_field or op not in ("==", "!="):
            raise _Unsupported(op)
        const = right.value
        if const is None or type(const) is bool:
            test: tuple[Any, ...] = ("is", *_read(left.value), const)
        elif type(const) is str:
            test = ("streq", *_read(left.value), const)
        else:
            raise _Unsupported("a number or a list")
        return ("not", test) if op == "!=" else test

    def contains(self, item: c._Operand, container: c._Operand) -> tuple[Any, ...]:
        if not item.is_field and not container.is_field:
            return ("const", bool(c._contains(container.value, item.value)))
        if item.is_field or type(item.value) is not str:
            raise _Unsupported("in")
        return ("in", *_read(container.value), item.value)

    def match(self, operand: c._Operand, pattern: Any, negate: bool) -> tuple[Any, ...]:
        if not operand.is_field:
            v = operand.value
            return ("const", (isinstance(v, str) and pattern.search(v) is not None) != negate)
        test = native_pattern(pattern)
        if test is None:
            raise _Unsupported("a pattern for re")
        found = ("match", *_read(operand.value), test)
        return ("not", found) if negate else found
