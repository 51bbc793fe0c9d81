"""Compile a grok expression's ``re`` form with a rewrite that changes no answer.

``%{DATA}`` is ``.*?``, and grok expressions end with it more often than not:
``"%{DATA:[user_agent][original]}"`` closes ``%{COMBINEDAPACHELOG}``. The
stdlib engine runs a lazy ``.*?`` one character at a time, trying the rest of
the expression after each: about 1.2 us of the 2.9 us that matching a whole
Apache combined line costs, for the user agent alone. When what follows the
``.*?`` is one literal character ``c`` and then nothing that can fail (the end
of the expression, or only optional parts), the lazy loop stops at the first
``c`` and never comes back: it is the same as ``[^c]*`` followed by ``c``,
which the engine runs as one tight loop over the characters.

Why it is the same: the rest can always succeed, so the lazy loop's first
candidate that is followed by ``c`` (the first ``c``) is the one kept, with
the same groups; ``[^c]*c`` can stop nowhere else. Where there is no ``c``
both fail, and backtracking goes on to the same earlier choices. The rewrite
needs ``.`` to match a newline (the engine's DOTALL); without it ``.*?`` stops
at a newline, and the class excludes the newline too.

This works on the parse tree of Python's own ``re`` parser (``re._parser``,
stable within a Python release; the project runs on 3.11) and compiles the
tree with ``re._compiler``. Anything it does not recognise is left alone, and
any failure falls back to compiling the text unchanged. Only ``match`` and
``search`` are used on the result: a ``fullmatch`` would make the end of the
expression something that can fail.
"""
from __future__ import annotations

import re
from typing import Any

try:
    from re import _compiler as _sre_compiler  # type: ignore[attr-defined,unused-ignore]
    from re import _constants as _c  # type: ignore[attr-defined,unused-ignore]
    from re import _parser as _sre_parser  # type: ignore[attr-defined,unused-ignore]
except ImportError:  # pragma: no cover - other Pythons: compile unchanged
    _sre_parser = None

Item = tuple[Any, Any]


def compile_extraction(regex: str, flags: int) -> re.Pattern[str]:
    """``re.compile(regex, flags)``, with the lazy tails described above rewritten."""
    if _sre_parser is not None:
        try:
            tree = _sre_parser.parse(regex, flags)
            if _rewrite(tree, bool(tree.state.flags & re.DOTALL), []):
                compiled: re.Pattern[str] = _sre_compiler.compile(tree, flags)
                return compiled
        except (re.error, RecursionError, TypeError, ValueError, AttributeError):
            pass
    return re.compile(regex, flags)


def _rewrite(seq: Any, dotall: bool, after: list[list[Item]] | None) -> bool:
    """Rewrite the lazy tails in ``seq`` (a parsed sequence); ``after`` holds what
    follows it, innermost first (None: unknown, inside a repetition). Returns
    whether anything changed."""
    changed = False
    items = seq.data
    for i, (op, av) in enumerate(items):
        rest = None if after is None else [items[i + 1:], *after]
        if op is _c.MIN_REPEAT and av[0] == 0 and av[1] == _c.MAXREPEAT and \
                [tuple(x) for x in av[2].data] == [(_c.ANY, None)] and rest is not None:
            stop = _literal_then_nothing_that_fails(rest)
            if stop is not None:
                items[i] = (_c.MAX_REPEAT, (0, _c.MAXREPEAT, _sre_parser.SubPattern(
                    seq.state, [_not(stop, dotall)])))
                changed = True
        elif op is _c.SUBPATTERN:
            group, add, remove, inner = av
            inner_dotall = (dotall or bool(add & re.DOTALL)) and not remove & re.DOTALL
            changed |= _rewrite(inner, inner_dotall, rest)
        elif op is _c.BRANCH:
            for branch in av[1]:
                changed |= _rewrite(branch, dotall, rest)
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT):
            # An optional part ({0,1}) runs once: what follows it follows its body too.
            changed |= _rewrite(av[2], dotall, rest if av[1] == 1 else None)
        # Lookarounds, atomic groups, possessive repeats, conditionals: left alone.
    return changed


def _not(char: int, dotall: bool) -> Item:
    if dotall:
        return (_c.NOT_LITERAL, char)
    return (_c.IN, [(_c.NEGATE, None), (_c.LITERAL, char), (_c.LITERAL, ord("\n"))])


def _literal_then_nothing_that_fails(rest: list[list[Item]]) -> int | None:
    """The character ``c`` when ``rest`` is ``c`` and then only parts that always
    succeed; else None. Letters are refused (case-insensitive matching would make
    ``c`` stand for two characters)."""
    flat = [item for part in rest for item in part]
    if not flat:
        return None
    op, av = flat[0]
    if op is not _c.LITERAL or av >= 128 or chr(av).isalpha():
        return None
    return av if all(_always(item) for item in flat[1:]) else None


def _always(item: Item) -> bool:
    """Whether a part succeeds wherever it starts (whatever it then matches)."""
    op, av = item
    if op in (_c.MAX_REPEAT, _c.MIN_REPEAT):
        return bool(av[0] == 0)
    if op is _c.SUBPATTERN:
        return all(_always(x) for x in av[3].data)
    if op is _c.BRANCH:
        return any(all(_always(x) for x in branch.data) for branch in av[1])
    return False
