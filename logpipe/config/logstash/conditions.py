"""Logstash conditions rendered in logpipe's ``if:`` language.

logpipe's condition language (:mod:`logpipe.core.conditions`) was made to read
like Logstash's, with Logstash's semantics for every operator, so a condition is
translated by writing it out again: field references, strings (re-escaped so the
``if:`` lexer reads back exactly the value Logstash would use), numbers, list
literals, ``/regex/`` (a string after ``=~`` becomes a regex, as in Logstash),
``!``, parentheses, and the boolean chain with ``and``/``nand`` binding tighter
than ``xor``, than ``or`` (for ``and`` and ``or`` that is Logstash's order).
"""
from __future__ import annotations

import re
from typing import Callable

from logpipe.config.logstash.ast import (
    Array,
    Bare,
    BoolChain,
    Compare,
    Condition,
    Group,
    Hash,
    In,
    Loc,
    Match,
    Not,
    Num,
    Plugin,
    Regex,
    RValue,
    Selector,
    Str,
    Truthy,
    Value,
)
from logpipe.errors import ConfigError

Substitute = Callable[[str, Loc], str]

#: A bracket holding only these is read as a list literal by the ``if:`` lexer, not a field.
_LISTY_KEY = re.compile(r"\s*(?:[\"']|[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?\s*$|"
                        r"(?:true|false|null)\s*$)")


def quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(cond: Condition, sub: Substitute) -> str:
    if isinstance(cond, BoolChain):
        parts = [render(cond.first, sub)]
        for op, operand in cond.rest:
            parts.append(op)
            parts.append(render(operand, sub))
        return " ".join(parts)
    if isinstance(cond, Group):
        return f"({render(cond.inner, sub)})"
    if isinstance(cond, Not):
        inner = cond.operand
        if isinstance(inner, Truthy):
            return "!" + _rvalue(inner.value, sub)
        if isinstance(inner, Group):
            return "!" + render(inner, sub)
        return f"!({render(inner, sub)})"
    if isinstance(cond, Truthy):
        return _rvalue(cond.value, sub)
    if isinstance(cond, Compare):
        return f"{_rvalue(cond.left, sub)} {cond.op} {_rvalue(cond.right, sub)}"
    if isinstance(cond, Match):
        pattern = cond.pattern
        if isinstance(pattern, Str):
            text = sub(pattern.value, pattern.loc).replace("/", "\\/")
            regex = f"/{text}/"
        else:
            regex = f"/{pattern.pattern}/"
        return f"{_rvalue(cond.left, sub)} {cond.op} {regex}"
    if isinstance(cond, In):
        op = "not in" if cond.negate else "in"
        return f"{_rvalue(cond.item, sub)} {op} {_rvalue(cond.container, sub)}"
    raise TypeError(f"not a condition: {cond!r}")


def _rvalue(value: RValue, sub: Substitute) -> str:
    if isinstance(value, Selector):
        for key in value.path:
            if _LISTY_KEY.match(key):
                raise ConfigError(f"the field [{key}] cannot be written in a logpipe condition "
                                  "(it reads as a list); rename the field", file=value.loc.file,
                                  line=value.loc.line, column=value.loc.column)
        return "".join(f"[{k}]" for k in value.path)
    if isinstance(value, Str):
        return quote(sub(value.value, value.loc))
    if isinstance(value, Num):
        return repr(value.value)
    if isinstance(value, Regex):
        raise ConfigError("a /regex/ can only follow =~ or !~", file=value.loc.file,
                          line=value.loc.line, column=value.loc.column)
    if isinstance(value, Array):
        return "[" + ", ".join(_literal(v, sub) for v in value.items) + "]"
    raise TypeError(f"not a value: {value!r}")


def _literal(value: Value, sub: Substitute) -> str:
    if isinstance(value, Str):
        return quote(sub(value.value, value.loc))
    if isinstance(value, Num):
        return repr(value.value)
    if isinstance(value, Bare):
        if value.value in ("true", "false"):
            return value.value
        return quote(value.value)
    where = value.loc
    kind = "a hash" if isinstance(value, Hash) else "a list" if isinstance(value, Array) else \
        "a plugin" if isinstance(value, Plugin) else "this value"
    raise ConfigError(f"a list in a condition holds strings, numbers and booleans, not {kind}",
                      file=where.file, line=where.line, column=where.column)
