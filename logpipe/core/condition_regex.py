"""Regular expression conditions through the native engine, where it means the same.

``[message] =~ /.../`` asks only whether the pattern occurs in a string. Python's
``re`` answers by backtracking from every position of the text; the ``regex``
crate (``logpipe_native.AsciiTest``) answers in one linear pass. The two engines
differ in syntax and in what classes such as ``\\s`` or ``\\w`` hold outside ASCII,
so a pattern goes native only when it is written anew from ``re``'s own parse
tree and every construct in it has a plain meaning on ASCII text:

- literals (ASCII only), ``.``, classes with ranges and ``\\d \\w \\s`` (spelled
  out as the ASCII sets ``re`` gives them: ``\\s`` holds ``\\x1c``-``\\x1f`` in
  ``re``, not in Rust), alternation, groups, greedy and lazy repetition (which
  do not change whether a match exists), ``^``/``$`` at line boundaries (the
  conditions' MULTILINE), ``\\A``, ``\\Z`` and ``\\b`` (not ``\\B``, which ``re``
  before Python 3.14 does not find in an empty text);
- no flags but MULTILINE, ASCII, VERBOSE and the default UNICODE: case
  folding, DOTALL and locales keep ``re``;
- no backreferences, lookarounds, atomic groups or possessive repetition.

The native program runs on ASCII text only (in CPython a string's ASCII-ness is
one flag, and the native side checks the bytes it reads); any other string,
including one with a lone surrogate, is handed to ``re``. Classes are clipped to
ASCII for the same reason: a non-ASCII member can never meet an ASCII character.
Anything the writer does not know, or the crate refuses to compile, answers
None: the condition keeps ``re``. With ``LOGPIPE_NATIVE=off`` nothing goes native.
"""
from __future__ import annotations

import re
from typing import Any, Callable

from logpipe.core.conditions import _required_char
from logpipe.core.native import native_module

#: Flags whose meaning the written pattern keeps (MULTILINE is how ``^``/``$`` are written).
_KEPT_FLAGS = re.MULTILINE | re.UNICODE | re.ASCII | re.VERBOSE

#: ``re``'s ``\\d``, ``\\w`` and ``\\s`` restricted to ASCII, as class members.
_DIGIT = "0-9"
_WORD = "0-9A-Za-z_"
_SPACE = "\\x09-\\x0D\\x1C-\\x20"


class _Unsupported(Exception):
    """The pattern has a construct this writer does not carry over."""


def ascii_test(pattern: re.Pattern[str]) -> Callable[[str], bool | None] | None:
    """A native test answering ``pattern.search(text) is not None`` for an ASCII
    ``text`` and None for any other, or None when the pattern must stay with ``re``
    (or the native module is absent or off)."""
    native = native_pattern(pattern)
    if native is None:
        return None
    test: Callable[[str], bool | None] = native.test
    return test


def native_pattern(pattern: re.Pattern[str]) -> Any:
    """The ``logpipe_native.AsciiTest`` for ``pattern`` (its ``test`` is what
    :func:`ascii_test` answers), or None when the pattern stays with ``re``."""
    native = native_module()
    if native is None:
        return None
    written = translate(pattern)
    if written is None:
        return None
    needed = _required_char(pattern)
    try:
        if needed is not None and needed.isascii():
            return native.AsciiTest(written, _byte(ord(needed)))
        return native.AsciiTest(written)
    except ValueError:
        return None


def translate(pattern: re.Pattern[str]) -> str | None:
    """``pattern`` in the ``regex`` crate's syntax (Unicode off), with the same
    matches on ASCII text, or None when that cannot be written."""
    if not isinstance(pattern.pattern, str) or pattern.flags & ~_KEPT_FLAGS:
        return None
    try:
        from re import _constants as sre_constants
        from re import _parser as sre_parse   # type: ignore[attr-defined]
        tree = sre_parse.parse(pattern.pattern, pattern.flags)
        return _Writer(sre_constants, bool(pattern.flags & re.MULTILINE)).sequence(tree)
    except _Unsupported:
        return None
    except Exception:   # another Python's parser, a shape not met before: keep re
        return None


def _byte(code: int) -> str:
    return f"\\x{code:02X}"


class _Writer:
    """Writes one parse tree; every literal is a ``\\xHH`` escape, so no character
    of the pattern is read by the crate as syntax."""

    def __init__(self, k: Any, multiline: bool) -> None:
        self.k = k
        # ``\B`` is left out: Python's re (before 3.14) finds no ``\B`` in an empty
        # text, the crate finds one.
        at = {k.AT_BEGINNING_STRING: "\\A", k.AT_END_STRING: "\\z", k.AT_BOUNDARY: "\\b"}
        if multiline:
            at[k.AT_BEGINNING] = "(?m:^)"
            at[k.AT_END] = "(?m:$)"
        # Without MULTILINE, re's ``$`` also holds before a final newline: not written.
        self.at = at
        self.categories = {
            k.CATEGORY_DIGIT: (_DIGIT, False), k.CATEGORY_NOT_DIGIT: (_DIGIT, True),
            k.CATEGORY_WORD: (_WORD, False), k.CATEGORY_NOT_WORD: (_WORD, True),
            k.CATEGORY_SPACE: (_SPACE, False), k.CATEGORY_NOT_SPACE: (_SPACE, True)}

    def sequence(self, items: Any) -> str:
        return "".join(self.item(op, av) for op, av in items)

    def item(self, op: Any, av: Any) -> str:
        k = self.k
        if op is k.LITERAL:
            if av >= 0x80:
                raise _Unsupported("a literal outside ASCII")
            return _byte(av)
        if op is k.NOT_LITERAL:
            return f"[^{_byte(av)}]" if av < 0x80 else "[\\x00-\\x7F]"
        if op is k.ANY:
            return "[^\\x0A]"
        if op is k.IN:
            return self.charset(av)
        if op is k.AT:
            if av not in self.at:
                raise _Unsupported(str(av))
            return self.at[av]
        if op is k.BRANCH:
            return "(?:" + "|".join(self.sequence(alt) for alt in av[1]) + ")"
        if op is k.SUBPATTERN:
            _group, add_flags, del_flags, inner = av
            if add_flags or del_flags:
                raise _Unsupported("flags inside the pattern")
            return "(?:" + self.sequence(inner) + ")"
        if op is k.MAX_REPEAT or op is k.MIN_REPEAT:
            low, high, inner = av
            bound = f"{{{low},}}" if high == k.MAXREPEAT else f"{{{low},{high}}}"
            return "(?:" + self.sequence(inner) + ")" + bound
        raise _Unsupported(str(op))

    def charset(self, items: Any) -> str:
        """A class clipped to ASCII (the text is ASCII); re's categories as their
        ASCII sets, a negated category as a nested negated class."""
        k = self.k
        negate = False
        members: list[str] = []
        for op, av in items:
            if op is k.NEGATE:
                negate = True
            elif op is k.LITERAL:
                if av < 0x80:
                    members.append(_byte(av))
            elif op is k.RANGE:
                low, high = av
                if low < 0x80:
                    members.append(f"{_byte(low)}-{_byte(min(high, 0x7F))}")
            elif op is k.CATEGORY:
                if av not in self.categories:
                    raise _Unsupported(str(av))
                spelled, negated = self.categories[av]
                members.append(f"[^{spelled}]" if negated else f"[{spelled}]")
            else:
                raise _Unsupported(str(op))
        if not members:
            # Nothing in ASCII: a class that never matches, or (negated) any character.
            if negate:
                return "[\\x00-\\x7F]"
            raise _Unsupported("a class with no ASCII member")
        return ("[^" if negate else "[") + "".join(members) + "]"
