"""A grok expression for the native engines (the ``logpipe_native`` module).

The native engines run each expression twice over: a gate in the syntax of
Rust's ``regex`` crate (finite automata, linear time) and an extraction in
PCRE2's (a backtracker like Python's ``re``, so it reports the same groups).
Both are written here from the parse tree of the very expression the event
path compiles with ``re`` (ASCII classes, dot matches newline), never by
editing its text, so a construct either has one exact meaning in PCRE2 and
``re`` or the expression is refused and keeps the ``re`` program.

The gate may accept more than the expression, never less: lookarounds (which
only the bundled, audited patterns bring to the engine that uses this; the
RE2 gate of the event path drops them the same way) and the non-multiline
``$`` are relaxed there. A line the gate passes is decided by PCRE2.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from re import _constants as C
from re import _parser as P  # type: ignore[attr-defined]
from typing import Any, Sequence

from logpipe.core.native import native_module
from logpipe.filters.grok.capture import to_float, to_int

#: ASCII classes as Python's ``re.ASCII`` defines them (``\s`` includes \v).
_CLASSES = {
    C.CATEGORY_DIGIT: ("0-9", False), C.CATEGORY_NOT_DIGIT: ("0-9", True),
    C.CATEGORY_WORD: ("0-9A-Za-z_", False), C.CATEGORY_NOT_WORD: ("0-9A-Za-z_", True),
    C.CATEGORY_SPACE: ("\\t\\n\\x0B\\x0C\\r ", False), C.CATEGORY_NOT_SPACE: ("\\t\\n\\x0B\\x0C\\r ", True),
}
#: Nodes written as one atom, which a repetition may follow directly.
_ATOMS = {C.LITERAL, C.NOT_LITERAL, C.ANY, C.IN}
_KNOWN_FLAGS = C.SRE_FLAG_DOTALL | C.SRE_FLAG_MULTILINE | C.SRE_FLAG_VERBOSE


class Refused(Exception):
    """The expression uses something without one exact meaning in every engine."""


@dataclass(frozen=True)
class NativeExpression:
    gate: str         # Rust ``regex`` syntax
    extract: str      # PCRE2 syntax, same groups as the ``re`` program
    exact_gate: bool  # False: the gate accepts more than the expression
    names: dict[str, int]  # group name -> number


def _char(code: int) -> str:
    """One literal character, written so that no engine reads it as syntax."""
    if code < 128 and chr(code).isalnum():
        return chr(code)
    return f"\\x{{{code:X}}}"


class _Writer:
    """Writes one engine's text from the parse tree; ``rust`` for the gate."""

    def __init__(self, rust: bool) -> None:
        self.rust = rust
        self.groups = 0
        #: Whether the text accepts more than the expression (only ever for the gate).
        self.relaxed = False

    def seq(self, items: Any, flags: int) -> str:
        return "".join(self.node(op, av, flags) for op, av in items)

    def node(self, op: Any, av: Any, flags: int) -> str:
        if op is C.LITERAL:
            return _char(av)
        if op is C.NOT_LITERAL:
            return f"[^{_char(av)}]"
        if op is C.ANY:
            return "(?s:.)" if flags & C.SRE_FLAG_DOTALL else "[^\\n]"
        if op is C.IN:
            return self.klass(av)
        if op is C.AT:
            return self.anchor(av, bool(flags & C.SRE_FLAG_MULTILINE))
        if op is C.BRANCH:
            return "(?:" + "|".join(self.seq(alt, flags) for alt in av[1]) + ")"
        if op is C.SUBPATTERN:
            group, add, remove, body = av
            if (add | remove) & ~_KNOWN_FLAGS:
                raise Refused("inline flags other than s, m and x")
            scoped = (flags | add) & ~remove
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
            atom = self.seq(body, flags)
            if not (len(body) == 1 and body[0][0] in _ATOMS):
                atom = "(?:" + atom + ")"
            return atom + count + lazy
        if op in (C.ASSERT, C.ASSERT_NOT):
            direction, body = av
            if self.rust:            # the gate drops it: it then accepts more, never less
                self.relaxed = True
                return ""
            opener = {(1, C.ASSERT): "(?=", (1, C.ASSERT_NOT): "(?!",
                      (-1, C.ASSERT): "(?<=", (-1, C.ASSERT_NOT): "(?<!"}[direction, op]
            before = self.groups
            inner = self.seq(body, flags)
            if self.groups != before:
                raise Refused("a capturing group inside a lookaround")
            return opener + inner + ")"
        raise Refused(str(op).lower())

    def anchor(self, at: Any, multiline: bool) -> str:
        """Anchors as ``re`` means them: with MULTILINE, ``^`` also after every newline
        (the end of the text included) and ``$`` before every newline; without, ``$``
        at the end or before a newline that ends the text."""
        if at is C.AT_BEGINNING_STRING or (at is C.AT_BEGINNING and not multiline):
            return "\\A"
        if at is C.AT_END_STRING:
            return "\\z"
        if at is C.AT_BEGINNING:
            return "(?m:^)" if self.rust else "(?:\\A|(?<=\\n))"
        if at is C.AT_END:
            if multiline:
                return "(?m:$)"
            if self.rust:
                self.relaxed = True
                return "(?m:$)"
            return "(?-m:$)"
        if at is C.AT_BOUNDARY:
            return "(?-u:\\b)" if self.rust else "\\b"
        if at is C.AT_NON_BOUNDARY:
            return "(?-u:\\B)" if self.rust else "\\B"
        raise Refused(f"anchor {at}")

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


@lru_cache(maxsize=256)
def native_expression(pattern: str, flags: int = re.ASCII | re.DOTALL) -> NativeExpression:
    """The gate and extraction programs of a ``re`` expression (raises Refused).

    Remembered per expression: one grok expression asks for them several times
    at start-up (its matcher, its capture store, the store that also applies the
    filter's actions, the line route); callers only read the result."""
    try:
        parsed = P.parse(pattern, flags)
    except re.error as exc:
        raise Refused(str(exc)) from None
    state_flags = parsed.state.flags
    if state_flags & (C.SRE_FLAG_IGNORECASE | C.SRE_FLAG_LOCALE) or not state_flags & C.SRE_FLAG_ASCII:
        raise Refused("case-insensitive or non-ASCII classes")
    rust, pcre = _Writer(rust=True), _Writer(rust=False)
    gate = rust.seq(parsed, state_flags)
    extract = pcre.seq(parsed, state_flags)
    if rust.groups != parsed.state.groups - 1:
        raise Refused("group count")
    return NativeExpression(gate, extract, exact_gate=not rust.relaxed,
                            names=dict(parsed.state.groupdict))


def native_matcher(pattern: str, names: Sequence[str]) -> Any:
    """``logpipe_native.Matcher`` for a ``re`` expression, answering the texts of the
    groups ``names`` in that order; None when the module is missing or the
    expression is refused."""
    logpipe_native = native_module()
    if logpipe_native is None:
        return None
    try:
        native = native_expression(pattern)
        return logpipe_native.Matcher(native.gate, native.extract, [native.names[n] for n in names])
    except (Refused, ValueError, KeyError):
        return None


def native_plan_matcher(pattern: str, names: Sequence[str],
                        tree: Sequence[tuple[str, Sequence[str], Any]],
                        fields: Sequence[tuple[str, Sequence[str], Any]] = (),
                        tags: Sequence[str] = (), walk: bool = False) -> Any:
    """``search_into`` of a ``logpipe_native.PlanMatcher`` for a ``re`` expression whose captures ``names``
    (in the capture plan's order) land as ``tree`` says (the plan's ``tree``:
    root, keys, converter per capture); None when the module is missing or the
    expression is refused. ``fields`` (root, keys, constant) and ``tags``: the
    filter's ``add_field`` and ``add_tag``, for the matcher to apply after the
    captures (see logpipe.filters.grok.filter ``constant_actions``). ``walk``: the
    plan's ``walk`` (the matcher may also store into an event that already holds
    some of the captures' top-level fields)."""
    logpipe_native = native_module()
    plan_matcher = getattr(logpipe_native, "PlanMatcher", None)
    if plan_matcher is None:
        return None
    slots = []
    try:
        native = native_expression(pattern)
        for name, (root, keys, convert) in zip(names, tree, strict=True):
            kind = 0 if convert is None else 1 if convert is to_int else 2 if convert is to_float else 3
            slots.append((native.names[name], 0 if root == "data" else 1, list(keys), kind, convert))
        native_fields = [(0 if root == "data" else 1, list(keys), value) for root, keys, value in fields]
        return plan_matcher(native.gate, native.extract, slots, native_fields, list(tags),
                            walk).search_into
    except (Refused, ValueError, KeyError):
        return None
