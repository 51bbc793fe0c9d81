"""The native form of a fixed mutate ``gsub`` (logpipe_native.FixedGsub), for the
patterns whose matches are provably the same in Rust's ``regex`` crate.

mutate compiles a gsub pattern with Python's ``regex`` module, a backtracker. The
crate is an automaton, but it reports the same leftmost-first matches as a
backtracker for the constructs accepted here: literals, character classes of
literals and ranges (negated too), ``.``, groups without flags, alternation,
greedy or lazy repetitions, and the anchors at the start (``^`` without flags,
``\\A``) and the very end (``\\Z``) of the text. Everything else is refused and
stays on the Python path, notably: ``$`` (in Python it also matches before a final
newline), ``\\d``/``\\w``/``\\s`` and ``\\b`` (Unicode tables of different versions), flags,
look-arounds, back-references, possessive and atomic forms, any pattern that can
match the empty text (the engines place empty matches next to non-empty ones
differently), and negated classes or ``.`` inside an alternation (the ``regex``
module finds no match of ``[^/]|[^é]`` in ``é``; ``re`` and the crate do). The replacement must be literal (no group references or escapes).

The pattern is read with ``re``'s parser. Where the ``regex`` module reads the same
text differently, it is refused too: a literal ``{`` or ``}`` (``regex`` reads
``{e<=1}`` as fuzzy matching) and a ``[`` inside a class (``regex`` reads
``[[:alpha:]]`` as a POSIX class).
"""
from __future__ import annotations

import re
from re import _constants as C
from re import _parser as P  # type: ignore[attr-defined]
from typing import Any

from logpipe.core.native import native_module

#: Code points the crate cannot hold in a pattern (and texts holding them cannot be
#: UTF-8, so they go to the Python path anyway).
_SURROGATES = range(0xD800, 0xE000)
#: Literals the ``regex`` module may read as syntax where ``re`` reads a character.
_AMBIGUOUS = frozenset(map(ord, "{}"))
#: Anchors with one meaning in both engines when no flag is set: ``^`` is the start of
#: the text there (no MULTILINE reaches a pattern accepted here), ``\Z`` its very end.
_ANCHORS = {C.AT_BEGINNING: "\\A", C.AT_BEGINNING_STRING: "\\A", C.AT_END_STRING: "\\z"}


class _Refused(Exception):
    """The pattern uses something whose meaning may differ between the engines."""


def _char(code: int) -> str:
    if code in _SURROGATES or code in _AMBIGUOUS:
        raise _Refused(f"character {code:#x}")
    return f"\\x{{{code:x}}}"


def _class(items: Any, branch: bool) -> str:
    out: list[str] = []
    for op, arg in items:
        if op is C.NEGATE and branch:
            raise _Refused("a negated class in an alternation")
        if op is C.NEGATE and not out:
            out.append("^")
        elif op is C.LITERAL:
            if arg == ord("["):
                raise _Refused("'[' in a class")
            out.append(_char(arg))
        elif op is C.RANGE:
            low, high = arg
            if low == ord("[") or high == ord("["):
                raise _Refused("'[' in a class")
            if any(c in _SURROGATES for c in range(low, high + 1)) if high - low < 0x2000 else (
                    low <= 0xDFFF and high >= 0xD800):
                raise _Refused("surrogates in a class")
            out.append(f"{_char(low)}-{_char(high)}")
        else:
            raise _Refused(f"{op} in a class")
    if not out or out == ["^"]:
        raise _Refused("an empty class")
    return "[" + "".join(out) + "]"


def _seq(items: Any, branch: bool = False) -> str:
    """``branch``: inside an alternation, where the ``regex`` module (2026.11.19) does
    not match ``[^/]|[^é]`` on ``é``; negated classes and ``.`` are refused there."""
    out: list[str] = []
    for op, arg in items:
        if op is C.LITERAL:
            out.append(_char(arg))
        elif op is C.NOT_LITERAL:
            if branch:
                raise _Refused("a negated class in an alternation")
            out.append(f"[^{_char(arg)}]")
        elif op is C.IN:
            out.append(_class(arg, branch))
        elif op is C.ANY:
            if branch:
                raise _Refused("'.' in an alternation")
            out.append(".")
        elif op is C.SUBPATTERN:
            _group, add_flags, del_flags, sub = arg
            if add_flags or del_flags:
                raise _Refused("flags")
            out.append(f"(?:{_seq(sub, branch)})")
        elif op is C.BRANCH:
            out.append("(?:" + "|".join(_seq(alt, True) for alt in arg[1]) + ")")
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT):
            low, high, sub = arg
            bound = f"{{{low},}}" if high is C.MAXREPEAT else f"{{{low},{high}}}"
            out.append(f"(?:{_seq(sub, branch)}){bound}" + ("?" if op is C.MIN_REPEAT else ""))
        elif op is C.AT and arg in _ANCHORS:
            out.append(_ANCHORS[arg])
        else:
            raise _Refused(str(op))
    return "".join(out)


def rust_pattern(pattern: str) -> str | None:
    """The crate's spelling of a Python gsub pattern whose matches are the same in
    both engines, or None (see the module docstring)."""
    try:
        parsed = P.parse(pattern, 0)
    except re.error:
        return None
    if parsed.state.flags & ~C.SRE_FLAG_UNICODE:
        return None
    try:
        if parsed.getwidth()[0] == 0:
            return None
        return _seq(parsed)
    except _Refused:
        return None


def native_gsub(pattern: str, replacement: str, path: tuple[str, ...]) -> Any:
    """A ``logpipe_native.FixedGsub`` substituting ``replacement`` (Python template
    syntax, as mutate keeps it) for ``pattern`` in the data field at ``path``, or None:
    no native module, the pattern refused, or a replacement that is not literal."""
    logpipe_native = native_module()
    fixed_gsub = getattr(logpipe_native, "FixedGsub", None)
    if fixed_gsub is None or "\\" in replacement or not path:
        return None
    translated = rust_pattern(pattern)
    if translated is None:
        return None
    try:
        return fixed_gsub(translated, replacement, list(path))
    except ValueError:
        return None
