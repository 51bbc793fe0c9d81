"""The ``if:`` condition language: syntax, meaning, and a reference evaluator.

An expression such as ``[http][response][status_code] >= 500 and
"_grokparsefailure" not in [tags]`` is lexed and parsed a single time into a
small tree (:func:`parse`). :func:`compile_condition` turns the tree into one
generated Python function (:mod:`logpipe.core.condition_codegen`): inline dict
reads and comparisons, no call per operator, and a batch form without a call
per event. No text of the expression becomes code (strings are written as their
``repr``, other constants bound by name), and no syntax tree is walked per event.

:func:`interpret` turns the same tree into nested closures, one per operator:
the plain evaluator that states the semantics below in code; the generated
functions are tested against it.

Grammar, loosest binding first::

    condition  := xor_expr ("or" xor_expr)*
    xor_expr   := and_expr ("xor" and_expr)*
    and_expr   := unary (("and" | "nand") unary)*
    unary      := ("!" | "not") negated | comparison
    negated    := ("!" | "not") negated | "(" condition ")" | value
    comparison := "(" condition ")"
                | value (CMP value | "in" value | "not" "in" value | ("=~" | "!~") REGEX)?
    value      := FIELD | STRING | NUMBER | LIST | "true" | "false" | "null"

So ``!``/``not`` bind tightest and apply to the one operand right after them (a
parenthesised condition or a single value); comparisons come next; then
``and``/``nand``; then ``xor``; then ``or``. Writing ``![a] == 1`` is an error
rather than a silent ``(![a]) == 1``: negate a comparison as ``!([a] == 1)``.

Values:

- Field references: ``[a][b]`` (Logstash style; ``[@metadata][x]`` reads the
  metadata) or a bare identifier ``a.b`` / ``@timestamp``. Bare identifiers are
  never keywords (``and or xor nand not in true false null``); a field with
  such a name needs brackets. A bare word is a field, not a string: quote
  strings (``[type] == "nginx"``).
- ``"double"`` or ``'single'`` quoted strings with ``\\"``, ``\\'``, ``\\\\``,
  ``\\n``, ``\\t``, ``\\r`` escapes (any other backslash stays as written).
- Numbers: ``42``, ``-7``, ``2.5``, ``1e3``.
- Lists of literals: ``[500, 502, "x", true, null]``. A bracket is a list when
  its content starts with a quote, or with a number, ``true``, ``false`` or
  ``null`` followed by ``,`` or ``]``, or is empty, or holds a comma; otherwise
  it is a field reference. ``[500]`` and ``[true]`` are one-element lists.
- ``/regex/`` after ``=~`` or ``!~`` only, ``\\/`` for a literal slash. Python
  ``re`` syntax, with ``^`` and ``$`` matching at line boundaries as in
  Logstash; ``(?<name>...)`` and ``\\z`` are accepted too.

Semantics (evaluation never raises):

- A missing field reads as null.
- Truthiness (a bare value used as a condition, as in ``if [field]``): false when
  the field is missing, null or the boolean false; anything else is true,
  including ``0`` and ``""``. This is Logstash's rule.
- ``==``/``!=`` compare strictly by type: ``1 == 1.0`` holds, ``"1" == 1`` does
  not, and booleans equal only booleans.
- ``<``, ``<=``, ``>``, ``>=`` hold only between two numbers, two strings or two
  timestamps; any other pairing (a number and a numeric string included) is
  false.
- ``x in [list literal]`` is strict membership; ``x in <field>`` means list
  element, substring (both strings) or key (object field); a missing container
  gives false, and ``not in`` is its negation.
- ``=~`` is false for a value that is not a string, and ``!~`` is its negation.
"""
from __future__ import annotations

import operator
import re
from datetime import datetime
from functools import lru_cache
from typing import Any, Callable, Iterable, Iterator, NamedTuple

from logpipe.core.event import METADATA, Event
from logpipe.core.event import reader as field_reader
from logpipe.core.fieldref import Path
from logpipe.core.fieldref import parse as parse_ref
from logpipe.errors import ConditionError, ConfigError

Condition = Callable[[Event], bool]

__all__ = ["Condition", "compile_condition", "interpret", "parse", "partition", "select"]


# --- public API -----------------------------------------------------------------------
def compile_condition(expr: str) -> Condition:
    """Compile ``expr`` into a function of an event returning a bool.

    Raises :class:`~logpipe.errors.ConditionError` with the 1-based column of
    the offending token when the expression is malformed. Compiled conditions
    are cached by text, as the same expression often guards several plugins.
    The function's ``many`` attribute answers the verdicts for a list of events
    at once (what stages call, see :mod:`logpipe.core.condition_codegen`).
    """
    if not isinstance(expr, str):
        raise ConditionError("a condition must be a string", expression=repr(expr), column=1)
    return _compile(expr)


@lru_cache(maxsize=512)
def _compile(expr: str) -> Condition:
    from logpipe.core.condition_codegen import generate

    return generate(_Parser(expr).parse(), expr)


def interpret(expr: str) -> Condition:
    """``expr`` as a tree of closures, one per operator: the straightforward
    evaluator, kept as the reference that :func:`compile_condition`'s generated code
    must agree with (property tests), not for use on hot paths."""
    return closures(parse(expr))


def select(cond: Condition, events: Iterable[Event]) -> list[bool]:
    """Evaluate ``cond`` on each event, in order."""
    many = getattr(cond, "many", None)
    if many is not None:
        return many(events if isinstance(events, list) else list(events))
    return list(map(cond, events))


def partition(cond: Condition, events: Iterable[Event]) -> tuple[list[Event], list[Event]]:
    """Split events into those that satisfy ``cond`` and those that do not."""
    yes: list[Event] = []
    no: list[Event] = []
    for event in events:
        (yes if cond(event) else no).append(event)
    return yes, no


# --- lexer ----------------------------------------------------------------------------
FIELD, STR, NUM, LIST, REGEX, CMP, MATCH, BANG, LPAREN, RPAREN, WORD, END = range(12)
_KEYWORDS = frozenset({"and", "or", "xor", "nand", "not", "in", "true", "false", "null"})
_WORD_VALUES = {"true": True, "false": False, "null": None}
_ESCAPES = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "t": "\t", "r": "\r"}
_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
_IDENT = re.compile(r"[A-Za-z_@][\w@.\-]*")
_IDENT_START = re.compile(r"[A-Za-z_]")


class _Token(NamedTuple):
    kind: int
    value: Any
    col: int   # 1-based
    text: str  # as written, for messages


def _describe(tok: _Token) -> str:
    if tok.kind == END:
        return "end of expression"
    if tok.kind == FIELD:
        return f"field {tok.text}"
    if tok.kind == STR:
        return f"string {tok.text}"
    if tok.kind == NUM:
        return f"number {tok.text}"
    if tok.kind == LIST:
        return f"list {tok.text}"
    if tok.kind == REGEX:
        return f"regex {tok.text}"
    return repr(tok.text)


class _Lexer:
    """Turns the expression into tokens on demand, so errors come out left to right."""

    def __init__(self, expr: str) -> None:
        self.s = expr
        self.n = len(expr)

    def error(self, message: str, index: int) -> ConditionError:
        return ConditionError(message, expression=self.s, column=index + 1)

    def skip_space(self, i: int) -> int:
        s, n = self.s, self.n
        while i < n and s[i].isspace():
            i += 1
        return i

    def tokens(self) -> Iterator[_Token]:
        s, n = self.s, self.n
        i = self.skip_space(0)
        while i < n:
            c = s[i]
            two = s[i:i + 2]
            if c == "(" or c == ")":
                yield _Token(LPAREN if c == "(" else RPAREN, c, i + 1, c)
                end = i + 1
            elif two in ("==", "!=", "<=", ">="):
                yield _Token(CMP, two, i + 1, two)
                end = i + 2
            elif two in ("=~", "!~"):
                yield _Token(MATCH, two, i + 1, two)
                end = i + 2
            elif c == "<" or c == ">":
                yield _Token(CMP, c, i + 1, c)
                end = i + 1
            elif c == "!":
                yield _Token(BANG, c, i + 1, c)
                end = i + 1
            elif c == '"' or c == "'":
                value, end = self.string(i)
                yield _Token(STR, value, i + 1, s[i:end])
            elif c == "/":
                pattern, end = self.regex(i)
                yield _Token(REGEX, pattern, i + 1, s[i:end])
            elif c == "[":
                if self.looks_like_list(i):
                    items, end = self.list_literal(i)
                    yield _Token(LIST, items, i + 1, s[i:end])
                else:
                    path, end = self.brackets(i)
                    yield _Token(FIELD, path, i + 1, s[i:end])
            elif (m := _NUMBER.match(s, i)) is not None:
                end = self.number_end(m)
                yield _Token(NUM, _number(m.group()), i + 1, m.group())
            elif (m := _IDENT.match(s, i)) is not None:
                word = m.group()
                end = m.end()
                if word in _KEYWORDS:
                    yield _Token(WORD, word, i + 1, word)
                else:
                    yield _Token(FIELD, self.bare_path(word, i), i + 1, word)
            elif c == "=":
                raise self.error("unexpected '=' (comparison is '==')", i)
            else:
                raise self.error(f"unexpected character {c!r}", i)
            i = self.skip_space(end)
        yield _Token(END, None, n + 1, "")

    # -- pieces -----------------------------------------------------------------------
    def number_end(self, m: re.Match[str]) -> int:
        end = m.end()
        if end < self.n and (self.s[end].isalnum() or self.s[end] in "_.@"):
            raise self.error(f"malformed number {self.s[m.start():end + 1]!r}", m.start())
        return end

    def string(self, i: int) -> tuple[str, int]:
        s, n = self.s, self.n
        quote = s[i]
        out: list[str] = []
        j = i + 1
        while j < n:
            c = s[j]
            if c == "\\" and j + 1 < n:
                nxt = s[j + 1]
                out.append(_ESCAPES.get(nxt, "\\" + nxt))
                j += 2
            elif c == quote:
                return "".join(out), j + 1
            else:
                out.append(c)
                j += 1
        raise self.error("unterminated string", i)

    def regex(self, i: int) -> tuple[re.Pattern[str], int]:
        s, n = self.s, self.n
        out: list[str] = []
        j = i + 1
        while j < n:
            c = s[j]
            if c == "\\" and j + 1 < n:
                nxt = s[j + 1]
                out.append("/" if nxt == "/" else r"\Z" if nxt == "z" else c + nxt)
                j += 2
            elif c == "/":
                try:
                    return re.compile("".join(out), re.MULTILINE), j + 1
                except re.error as exc:
                    raise self.error(f"bad regular expression: {exc}", i) from None
            elif c == "(" and s.startswith("?<", j + 1) and _IDENT_START.match(s, j + 3):
                out.append("(?P<")   # Ruby/Java named group spelling
                j += 3
            else:
                out.append(c)
                j += 1
        raise self.error("unterminated regular expression", i)

    def looks_like_list(self, i: int) -> bool:
        s = self.s
        k = self.skip_space(i + 1)
        if k >= self.n:
            return False
        if s[k] in "\"']":
            return True
        m = _NUMBER.match(s, k) or _IDENT.match(s, k)
        if m is not None and (m.re is _NUMBER or m.group() in _WORD_VALUES):
            after = self.skip_space(m.end())
            if after < self.n and s[after] in ",]":
                return True
        close = s.find("]", i + 1)
        return "," in s[i + 1:close if close >= 0 else self.n]

    def list_literal(self, i: int) -> tuple[list[Any], int]:
        s, n = self.s, self.n
        items: list[Any] = []
        j = self.skip_space(i + 1)
        if j < n and s[j] == "]":
            return items, j + 1
        while True:
            j = self.skip_space(j)
            if j >= n:
                raise self.error("unterminated list", i)
            c = s[j]
            value: Any
            if c == '"' or c == "'":
                value, j = self.string(j)
            elif (m := _NUMBER.match(s, j)) is not None:
                value, j = _number(m.group()), self.number_end(m)
            elif (m := _IDENT.match(s, j)) is not None and m.group() in _WORD_VALUES:
                value, j = _WORD_VALUES[m.group()], m.end()
            else:
                raise self.error("a list holds only strings, numbers, true, false and null", j)
            items.append(value)
            j = self.skip_space(j)
            if j >= n:
                raise self.error("unterminated list", i)
            if s[j] == "]":
                return items, j + 1
            if s[j] != ",":
                raise self.error("expected ',' or ']' in list", j)
            j += 1

    def brackets(self, i: int) -> tuple[Path, int]:
        s, n = self.s, self.n
        j = i
        while j < n and s[j] == "[":
            close = s.find("]", j + 1)
            if close < 0:
                raise self.error("missing ']' in field reference", j)
            key = s[j + 1:close]
            if not key.strip():
                raise self.error("empty field name", j)
            if "[" in key:
                raise self.error("unexpected '[' inside a field name", j + 1 + key.index("["))
            j = close + 1
        return parse_ref(s[i:j]), j

    def bare_path(self, word: str, i: int) -> Path:
        try:
            path = parse_ref(word)
        except ConfigError as exc:
            raise self.error(exc.message, i) from None
        if not all(path):
            raise self.error(f"bad field reference {word!r}", i)
        return path


def _number(text: str) -> int | float:
    if any(ch in text for ch in ".eE"):
        return float(text)
    return int(text)


# --- parser ---------------------------------------------------------------------------
class _Operand(NamedTuple):
    is_field: bool
    value: Any  # a Path for fields, the constant otherwise


# The parsed condition: a small tree that two back ends turn into functions of an
# event (``logpipe.core.condition_codegen`` for use, ``closures`` below as the
# plain reference that the generated code is tested against).
class Truth(NamedTuple):
    """A bare value used as a condition (``[field]``), or its negation (``![field]``)."""
    operand: _Operand
    negate: bool


class Compare(NamedTuple):
    op: str   # == != < <= > >=
    left: _Operand
    right: _Operand


class In(NamedTuple):
    item: _Operand
    container: _Operand


class Match(NamedTuple):
    operand: _Operand
    pattern: re.Pattern[str]
    negate: bool   # !~


class Not(NamedTuple):
    node: Node


class And(NamedTuple):
    left: Node
    right: Node


class Or(NamedTuple):
    left: Node
    right: Node


class Xor(NamedTuple):
    left: Node
    right: Node


Node = Truth | Compare | In | Match | Not | And | Or | Xor


def parse(expr: str) -> Node:
    """The tree of ``expr``; raises :class:`~logpipe.errors.ConditionError` as
    :func:`compile_condition` does."""
    if not isinstance(expr, str):
        raise ConditionError("a condition must be a string", expression=repr(expr), column=1)
    return _Parser(expr).parse()


def _starts_comparison(tok: _Token) -> bool:
    return tok.kind == CMP or tok.kind == MATCH or (tok.kind == WORD and tok.value in ("in", "not"))


class _Parser:
    """Recursive descent over the token stream, building the tree as it goes."""

    def __init__(self, expr: str) -> None:
        self.expr = expr
        self.tokens = _Lexer(expr).tokens()
        self.tok = next(self.tokens)
        self.prev: _Token | None = None

    def error(self, message: str, tok: _Token) -> ConditionError:
        return ConditionError(message, expression=self.expr, column=tok.col)

    def advance(self) -> _Token:
        tok = self.tok
        if tok.kind != END:
            self.tok = next(self.tokens)
        self.prev = tok
        return tok

    def at_word(self, *words: str) -> bool:
        return self.tok.kind == WORD and self.tok.value in words

    def parse(self) -> Node:
        if self.tok.kind == END:
            raise self.error("empty condition", self.tok)
        cond = self.or_expr()
        if self.tok.kind != END:
            tok = self.tok
            if tok.kind == FIELD and tok.text.lower() in _KEYWORDS:
                raise self.error(f"unexpected {tok.text!r} (keywords are lower case)", tok)
            raise self.error(f"unexpected {_describe(tok)}; expected and, or, xor, nand "
                             "or the end of the condition", tok)
        return cond

    def or_expr(self) -> Node:
        left = self.xor_expr()
        while self.at_word("or"):
            self.advance()
            left = Or(left, self.xor_expr())
        return left

    def xor_expr(self) -> Node:
        left = self.and_expr()
        while self.at_word("xor"):
            self.advance()
            left = Xor(left, self.and_expr())
        return left

    def and_expr(self) -> Node:
        left = self.unary()
        while self.at_word("and", "nand"):
            op = self.advance().value
            right = self.unary()
            left = And(left, right) if op == "and" else Not(And(left, right))
        return left

    def unary(self) -> Node:
        if self.tok.kind == BANG or self.at_word("not"):
            return self.negated(self.advance())
        return self.comparison()

    def negated(self, op: _Token) -> Node:
        """What ``op`` (``!`` or ``not``) applies to, already negated.

        A negated field (``![@metadata][category]``, the usual guard) becomes one
        test for a false value, rather than a ``not`` around a truth test.
        """
        if self.tok.kind == BANG or self.at_word("not"):
            return Not(self.negated(self.advance()))
        if self.tok.kind == LPAREN:
            return Not(self.group())
        operand = self.value(op)
        nxt = self.tok
        if _starts_comparison(nxt):
            raise self.error(f"{op.text!r} applies to the value right after it; write "
                             f"{op.text}( ... ) to negate a comparison", nxt)
        return Truth(operand, True)

    def group(self) -> Node:
        opening = self.advance()
        cond = self.or_expr()
        if self.tok.kind != RPAREN:
            raise self.error(f"expected ')' to close the '(' at column {opening.col}, "
                             f"found {_describe(self.tok)}", self.tok)
        self.advance()
        nxt = self.tok
        if _starts_comparison(nxt):
            raise self.error("a parenthesised condition cannot be compared", nxt)
        return cond

    def comparison(self) -> Node:
        if self.tok.kind == LPAREN:
            return self.group()
        left = self.value(None)
        tok = self.tok
        if tok.kind == CMP:
            self.advance()
            return Compare(tok.value, left, self.value(tok))
        if tok.kind == MATCH:
            self.advance()
            if self.tok.kind != REGEX:
                raise self.error(f"expected /regex/ after {tok.text!r}, found {_describe(self.tok)}",
                                 self.tok)
            pattern = self.advance().value
            return Match(left, pattern, tok.value == "!~")
        if self.at_word("in"):
            self.advance()
            return In(left, self.value(tok))
        if self.at_word("not"):
            self.advance()
            if not self.at_word("in"):
                raise self.error(f"expected 'in' after 'not', found {_describe(self.tok)}", self.tok)
            in_tok = self.advance()
            return Not(In(left, self.value(in_tok)))
        return Truth(left, False)

    def value(self, after: _Token | None) -> _Operand:
        tok = self.tok
        if tok.kind == FIELD:
            self.advance()
            return _Operand(True, tok.value)
        if tok.kind in (STR, NUM, LIST):
            self.advance()
            return _Operand(False, tok.value)
        if tok.kind == WORD and tok.value in _WORD_VALUES:
            self.advance()
            return _Operand(False, _WORD_VALUES[tok.value])
        if tok.kind == REGEX:
            raise self.error("a /regex/ can only follow =~ or !~", tok)
        after = after or self.prev
        where = f" after {after.text!r}" if after is not None else ""
        raise self.error(f"expected a value{where}, found {_describe(tok)}", tok)


# --- value semantics (shared by the folded and the generic paths) ---------------------
_NUMBERS = (int, float)       # compared with type(v) in _NUMBERS, which leaves out bool
_ORDERED_ALIKE = (str, datetime)
_FLIP = {"==": "==", "!=": "!=", "<": ">", ">": "<", "<=": ">=", ">=": "<="}
_ORDER_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def _is_true(v: Any) -> bool:
    return v is not None and v is not False


def _equal(a: Any, b: Any) -> bool:
    if type(a) is bool or type(b) is bool:
        return a is b
    return bool(a == b)


def _ordered(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(a: Any, b: Any) -> bool:
        ta, tb = type(a), type(b)
        if (ta in _NUMBERS and tb in _NUMBERS) or (ta is tb and ta in _ORDERED_ALIKE):
            try:
                return bool(op(a, b))
            except TypeError:   # naive against aware datetimes
                return False
        return False
    return compare


def _contains(container: Any, item: Any) -> bool:
    kind = type(container)
    if kind is list:
        if type(item) is str:
            return item in container
        return any(_equal(item, x) for x in container)
    if kind is str or kind is dict:
        return isinstance(item, str) and item in container
    return False


def _value_test(op: str) -> Callable[[Any, Any], bool]:
    if op == "==":
        return _equal
    if op == "!=":
        return lambda a, b: not _equal(a, b)
    return _ordered(_ORDER_OPS[op])


# --- the reference evaluator: closures ------------------------------------------------
def _always(event: Event) -> bool:
    return True


def _never(event: Event) -> bool:
    return False


def _const(value: bool) -> Condition:
    return _always if value else _never


_get_path = Event.get_path


def closures(node: Node) -> Condition:
    """The reference evaluator of a parsed condition (see :func:`interpret`)."""
    if isinstance(node, Truth):
        return _truthy(node.operand, negate=node.negate)
    if isinstance(node, Compare):
        return _compare(node.op, node.left, node.right)
    if isinstance(node, In):
        return _in(node.item, node.container)
    if isinstance(node, Match):
        return _match(node.operand, node.pattern, negate=node.negate)
    if isinstance(node, Not):
        return _not(closures(node.node))
    if isinstance(node, And):
        return _and(closures(node.left), closures(node.right))
    if isinstance(node, Or):
        return _or(closures(node.left), closures(node.right))
    return _xor(closures(node.left), closures(node.right))


def _key_of(path: Path) -> str | None:
    """The single top-level key to read with ``data.get``, or None to use ``get_path``."""
    return path[0] if len(path) == 1 and path[0] != METADATA else None


def _path_reader(path: Path) -> Callable[[Event], Any]:
    """The quickest reader for a path (:func:`logpipe.core.event.reader`): ``[a][b]``,
    ``[a][b][c]`` and ``[@metadata][x]`` (most conditions) read with inline ``dict.get``.
    Every reader answers exactly what ``Event.get_path`` answers."""
    return field_reader(path)


def _getter(operand: _Operand) -> Callable[[Event], Any]:
    if not operand.is_field:
        const = operand.value
        return lambda e: const
    path = operand.value
    key = _key_of(path)
    if key is not None:
        return lambda e: e.data.get(key)
    return _path_reader(path)


def _not(f: Condition) -> Condition:
    if f is _always:
        return _never
    if f is _never:
        return _always
    return lambda e: not f(e)


def _and(a: Condition, b: Condition) -> Condition:
    if a is _never or b is _never:
        return _never
    if a is _always:
        return b
    if b is _always:
        return a
    return lambda e: a(e) and b(e)


def _or(a: Condition, b: Condition) -> Condition:
    if a is _always or b is _always:
        return _always
    if a is _never:
        return b
    if b is _never:
        return a
    return lambda e: a(e) or b(e)


def _xor(a: Condition, b: Condition) -> Condition:
    if a in (_always, _never):
        return _not(b) if a is _always else b
    if b in (_always, _never):
        return _not(a) if b is _always else a
    return lambda e: a(e) != b(e)


def _truthy(operand: _Operand, *, negate: bool = False) -> Condition:
    """``[field]`` (or ``![field]`` with ``negate``): the field holds something other
    than nil or false. The compiled form (:mod:`.condition_codegen`) reads the usual
    shapes inline; this reference form reads through the field's reader."""
    if not operand.is_field:
        return _const(_is_true(operand.value) != negate)
    read = _path_reader(operand.value)
    if negate:
        return lambda e: not _is_true(read(e))
    return lambda e: _is_true(read(e))


def _compare(op: str, left: _Operand, right: _Operand) -> Condition:
    if not left.is_field and not right.is_field:
        return _const(_value_test(op)(left.value, right.value))
    if not left.is_field:
        left, right, op = right, left, _FLIP[op]
    if right.is_field:
        test = _value_test(op)
        get_l, get_r = _getter(left), _getter(right)
        return lambda e: test(get_l(e), get_r(e))
    return _compare_const(op, left.value, right.value)


def _compare_const(op: str, path: Path, c: Any) -> Condition:
    """Field against a literal: the common case, given its own closures."""
    key = _key_of(path)
    read = _path_reader(path)
    if op in ("==", "!="):
        negate = op == "!="
        if c is None or type(c) is bool:
            def same(e: Event) -> bool:
                v = e.data.get(key) if key is not None else read(e)
                return (v is c) != negate
            return same
        if type(c) in _NUMBERS:
            def num_eq(e: Event) -> bool:
                v = e.data.get(key) if key is not None else read(e)
                return (v == c and type(v) is not bool) != negate
            return num_eq
        if type(c) is str:
            def str_eq(e: Event) -> bool:
                v = e.data.get(key) if key is not None else read(e)
                return (v == c) != negate
            return str_eq

        def eq(e: Event) -> bool:   # a list literal
            v = e.data.get(key) if key is not None else read(e)
            return _equal(v, c) != negate
        return eq
    compare = _ORDER_OPS[op]
    if type(c) in _NUMBERS:
        def num_order(e: Event) -> bool:
            v = e.data.get(key) if key is not None else read(e)
            return type(v) in _NUMBERS and compare(v, c)
        return num_order
    if type(c) is str:
        def str_order(e: Event) -> bool:
            v = e.data.get(key) if key is not None else read(e)
            return type(v) is str and compare(v, c)
        return str_order
    return _never   # null, booleans and lists have no order


def _membership(items: list[Any]) -> Callable[[Any], bool]:
    """Strict ``v in items`` for a list literal, with hashing split by type."""
    strs = frozenset(x for x in items if type(x) is str)
    nums = frozenset(x for x in items if type(x) in _NUMBERS)
    bools = frozenset(x for x in items if type(x) is bool)
    has_null = any(x is None for x in items)

    def member(v: Any) -> bool:
        kind = type(v)
        if kind is str:
            return v in strs
        if kind is int or kind is float:
            return v in nums
        if kind is bool:
            return v in bools
        return v is None and has_null
    return member


def _in(item: _Operand, container: _Operand) -> Condition:
    if not item.is_field and not container.is_field:
        return _const(_contains(container.value, item.value))
    if item.is_field and not container.is_field:
        path, key = item.value, _key_of(item.value)
        read = _path_reader(path)
        literal = container.value
        if type(literal) is list:
            member = _membership(literal)

            def in_list(e: Event) -> bool:
                return member(e.data.get(key) if key is not None else read(e))
            return in_list
        if type(literal) is str:
            def in_text(e: Event) -> bool:
                v = e.data.get(key) if key is not None else read(e)
                return type(v) is str and v in literal
            return in_text
        return _never   # numbers, booleans and null contain nothing
    if not item.is_field and type(item.value) is str:
        path, key, lit = container.value, _key_of(container.value), item.value
        read = _path_reader(path)

        def lit_in_field(e: Event) -> bool:   # "_grokparsefailure" in [tags]
            c: Any = e.data.get(key) if key is not None else read(e)
            kind = type(c)
            return (kind is list or kind is str or kind is dict) and lit in c
        return lit_in_field
    get_item, get_container = _getter(item), _getter(container)
    return lambda e: _contains(get_container(e), get_item(e))


def _starts_at_line_start(pattern: re.Pattern[str]) -> bool:
    """Whether every match of ``pattern`` begins where ``^`` holds.

    True when the text starts with ``^`` and has no ``|`` anywhere (so no
    alternative can begin elsewhere); ``^`` cannot be quantified. Conservative:
    ``(?:^a|^b)`` answers False, which only forgoes the shortcut in ``_match``.
    """
    return pattern.pattern.startswith("^") and "|" not in pattern.pattern


def _required_char(pattern: re.Pattern[str]) -> str | None:
    """A character every match of ``pattern`` contains, if one is plain to see: a
    literal of the top-level sequence, or of a group or a repetition (at least once) in
    it. Alternatives, optional parts and case-insensitive ones are not looked into.

    ``"{" not in v`` is one C scan; it spares the regular expression call on the many
    values that cannot match (a ``{`` that JSON text needs, on access lines). Any doubt
    (another Python's parser, an unknown shape) answers None: no shortcut.
    """
    if pattern.flags & re.IGNORECASE:
        return None
    try:
        from re import _parser as sre_parse   # type: ignore[attr-defined]
        from re._constants import LITERAL, MAX_REPEAT, MIN_REPEAT, SUBPATTERN

        found: list[str] = []

        def walk(items: Any) -> None:
            for op, av in items:
                if op is LITERAL:
                    found.append(chr(av))
                elif op is SUBPATTERN and not av[1] & re.IGNORECASE:
                    walk(av[3])
                elif (op is MAX_REPEAT or op is MIN_REPEAT) and av[0] >= 1:
                    walk(av[2])
        walk(sre_parse.parse(pattern.pattern, pattern.flags))
    except Exception:
        return None
    if not found:
        return None
    rare = [c for c in found if not (c.isalnum() or c.isspace())]
    return (rare or found)[0]


def _match(operand: _Operand, pattern: re.Pattern[str], *, negate: bool) -> Condition:
    search = pattern.search
    needed = _required_char(pattern)
    if not operand.is_field:
        v = operand.value
        return _const((isinstance(v, str) and search(v) is not None) != negate)
    path = operand.value
    key = _key_of(path)
    read = _path_reader(path)
    if _starts_at_line_start(pattern):
        # ``^`` holds at the start and after each newline (MULTILINE): in a value
        # without a newline only position 0 can start a match, and ``match`` tries
        # just that one instead of ``search`` trying every position of a long line
        # (``[message] =~ /^\s*\{/`` on access lines).
        match_at_start = pattern.match

        def match_anchored(e: Event) -> bool:
            v = e.data.get(key) if key is not None else read(e)
            if type(v) is not str or (needed is not None and needed not in v):
                return negate
            found = match_at_start(v) if "\n" not in v else search(v)
            return (found is not None) != negate
        return match_anchored

    if needed is not None:
        def match_needing(e: Event) -> bool:
            v = e.data.get(key) if key is not None else read(e)
            return (type(v) is str and needed in v and search(v) is not None) != negate
        return match_needing

    def match(e: Event) -> bool:
        v = e.data.get(key) if key is not None else read(e)
        return (type(v) is str and search(v) is not None) != negate
    return match
