"""A grok expression for the native line engine (the ``logpipe_native`` module).

The native engine runs each expression twice over: a gate in the syntax of
Rust's ``regex`` crate (finite automata, linear time) and an extraction in
PCRE2's (a backtracker like Python's ``re``, so it reports the same groups).
Both are written here from the parse tree of the very expression the event
path compiles with ``re`` (ASCII classes, dot matches newline), never by
editing its text, so a construct either has one exact meaning in all three or
the expression is refused and the pipeline keeps the event path.

The programs are for single lines: the packed path splits blocks at ``\\n``,
so a line never holds one, and line anchors are the text's ends.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from re import _constants as C
from re import _parser as P  # type: ignore[attr-defined]
from typing import Any

#: ASCII classes as Python's ``re.ASCII`` defines them (``\s`` includes \v).
_CLASSES = {
    C.CATEGORY_DIGIT: ("0-9", False), C.CATEGORY_NOT_DIGIT: ("0-9", True),
    C.CATEGORY_WORD: ("0-9A-Za-z_", False), C.CATEGORY_NOT_WORD: ("0-9A-Za-z_", True),
    C.CATEGORY_SPACE: ("\\t\\n\\x0B\\x0C\\r ", False), C.CATEGORY_NOT_SPACE: ("\\t\\n\\x0B\\x0C\\r ", True),
}
_START = {C.AT_BEGINNING, C.AT_BEGINNING_STRING, C.AT_BEGINNING_LINE}
_END = {C.AT_END, C.AT_END_STRING, C.AT_END_LINE}
#: Nodes written as one atom, which a repetition may follow directly.
_ATOMS = {C.LITERAL, C.NOT_LITERAL, C.ANY, C.IN}


class Refused(Exception):
    """The expression uses something without one exact meaning in every engine."""


@dataclass(frozen=True)
class NativeExpression:
    gate: str         # Rust ``regex`` syntax
    extract: str      # PCRE2 syntax, same groups as the ``re`` program
    groups: int       # capturing groups, numbered as in the ``re`` program


def _char(code: int) -> str:
    """One literal character, written so that no engine reads it as syntax."""
    if code < 128 and chr(code).isalnum():
        return chr(code)
    return f"\\x{{{code:X}}}"


class _Writer:
    def __init__(self, rust: bool) -> None:
        self.rust = rust
        self.groups = 0

    def seq(self, items: Any, dotall: bool) -> str:
        return "".join(self.node(op, av, dotall) for op, av in items)

    def node(self, op: Any, av: Any, dotall: bool) -> str:
        if op is C.LITERAL:
            return _char(av)
        if op is C.NOT_LITERAL:
            return f"[^{_char(av)}]"
        if op is C.ANY:
            return "(?s:.)" if dotall else "[^\\n]"
        if op is C.IN:
            return self.klass(av)
        if op is C.AT:
            if av in _START:
                return "\\A"
            if av in _END:
                return "\\z"
            if av is C.AT_BOUNDARY:
                return "(?-u:\\b)" if self.rust else "\\b"
            if av is C.AT_NON_BOUNDARY:
                return "(?-u:\\B)" if self.rust else "\\B"
            raise Refused(f"anchor {av}")
        if op is C.BRANCH:
            return "(?:" + "|".join(self.seq(alt, dotall) for alt in av[1]) + ")"
        if op is C.SUBPATTERN:
            group, add, remove, body = av
            if (add | remove) & ~(C.SRE_FLAG_DOTALL | C.SRE_FLAG_MULTILINE | C.SRE_FLAG_VERBOSE):
                raise Refused("inline flags other than s, m and x")
            scoped = dotall
            if add & C.SRE_FLAG_DOTALL:
                scoped = True
            if remove & C.SRE_FLAG_DOTALL:
                scoped = False
            if group is None:
                return "(?:" + self.seq(body, scoped) + ")"
            self.groups += 1
            if group != self.groups:
                raise Refused("groups out of order")
            return "(" + self.seq(body, scoped) + ")"
        if op in (C.MAX_REPEAT, C.MIN_REPEAT):
            low, high, body = av
            if high is C.MAXREPEAT:
                count = "*" if low == 0 else "+" if low == 1 else f"{{{low},}}"
            elif low == high:
                count = f"{{{low}}}"
            else:
                count = "?" if (low, high) == (0, 1) else f"{{{low},{high}}}"
            lazy = "?" if op is C.MIN_REPEAT else ""
            atom = self.seq(body, dotall)
            if not (len(body) == 1 and body[0][0] in _ATOMS):
                atom = "(?:" + atom + ")"
            return atom + count + lazy
        raise Refused(str(op).lower())

    def klass(self, items: Any) -> str:
        negate = False
        parts: list[str] = []
        nested: list[str] = []
        for op, av in items:
            if op is C.NEGATE:
                negate = True
            elif op is C.LITERAL:
                parts.append(_char(av))
            elif op is C.RANGE:
                parts.append(f"{_char(av[0])}-{_char(av[1])}")
            elif op is C.CATEGORY:
                body, negated = _CLASSES.get(av, (None, False))
                if body is None:
                    raise Refused(f"class {av}")
                if not negated:
                    parts.append(body)
                elif self.rust:
                    nested.append(f"[^{body}]")   # Rust: a class inside a class
                else:
                    # PCRE2 without UCP: \D \W \S are the ASCII classes' complements,
                    # every non-ASCII character included, as in re.ASCII.
                    parts.append({C.CATEGORY_NOT_DIGIT: "\\D", C.CATEGORY_NOT_WORD: "\\W",
                                  C.CATEGORY_NOT_SPACE: "\\S"}[av])
            else:
                raise Refused(f"class item {op}")
        body = "".join(parts) + "".join(nested)
        if not body:
            return "[^\\x{0}-\\x{10FFFF}]" if not negate else "(?s:.)"
        return f"[{'^' if negate else ''}{body}]"


def native_expression(pattern: str, flags: int = re.ASCII | re.DOTALL) -> NativeExpression:
    """The gate and extraction programs of a ``re`` expression (raises Refused)."""
    try:
        parsed = P.parse(pattern, flags)
    except re.error as exc:
        raise Refused(str(exc)) from None
    state_flags = parsed.state.flags
    if state_flags & (C.SRE_FLAG_IGNORECASE | C.SRE_FLAG_LOCALE) or not state_flags & C.SRE_FLAG_ASCII:
        raise Refused("case-insensitive or non-ASCII classes")
    dotall = bool(state_flags & C.SRE_FLAG_DOTALL)
    rust, pcre = _Writer(rust=True), _Writer(rust=False)
    gate = rust.seq(parsed, dotall)
    extract = pcre.seq(parsed, dotall)
    if rust.groups != parsed.state.groups - 1:
        raise Refused("group count")
    return NativeExpression(gate, extract, rust.groups)
