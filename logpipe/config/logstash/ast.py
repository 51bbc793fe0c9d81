"""The syntax tree of a Logstash pipeline configuration.

Every node carries :class:`Loc` (file, line, column) so that every later error,
from a parse error to a plugin's rejected option, points at the text the user
wrote. Values keep Logstash's shapes: strings as written between the quotes
(escape sequences are Logstash's opt-in, see :mod:`.parser`), numbers, barewords,
arrays, hashes, and a plugin block where a value is one (``codec => multiline {...}``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union


@dataclass(frozen=True)
class Loc:
    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass
class Comment:
    text: str          # without the leading '#'
    loc: Loc
    own_line: bool     # nothing but blanks before it on its line
    offset: int


# --- values ------------------------------------------------------------------------
@dataclass
class Str:
    value: str
    loc: Loc
    quote: str = '"'


@dataclass
class Num:
    value: int | float
    loc: Loc


@dataclass
class Bare:
    value: str
    loc: Loc


@dataclass
class Array:
    items: list[Value]
    loc: Loc


@dataclass
class HashEntry:
    key: str
    value: Value
    loc: Loc


@dataclass
class Hash:
    entries: list[HashEntry]
    loc: Loc


@dataclass
class Attribute:
    name: str
    value: Value
    loc: Loc
    start: int = 0


@dataclass
class Plugin:
    name: str
    attributes: list[Attribute]
    loc: Loc
    #: Offsets in the concatenated text, to place comments when converting.
    start: int = 0
    end: int = 0


Value = Union[Str, Num, Bare, Array, Hash, Plugin]


# --- conditions -------------------------------------------------------------------
@dataclass
class Selector:
    """A field reference ``[a][b]``; ``path`` holds the keys."""
    path: tuple[str, ...]
    loc: Loc


@dataclass
class Regex:
    pattern: str       # between the slashes, as written
    loc: Loc


RValue = Union[Str, Num, Selector, Array, Regex]


@dataclass
class Compare:
    op: str            # == != < > <= >=
    left: RValue
    right: RValue
    loc: Loc


@dataclass
class Match:
    op: str            # =~ !~
    left: RValue
    pattern: Regex | Str
    loc: Loc


@dataclass
class In:
    item: RValue
    container: RValue
    negate: bool
    loc: Loc


@dataclass
class Truthy:
    value: RValue
    loc: Loc


@dataclass
class Not:
    operand: Condition
    loc: Loc


@dataclass
class Group:
    inner: Condition
    loc: Loc


@dataclass
class BoolChain:
    """``e1 op e2 op e3 ...`` as written; precedence is applied when rendering."""
    first: Condition
    rest: list[tuple[str, Condition]]
    loc: Loc


Condition = Union[Compare, Match, In, Truthy, Not, Group, BoolChain]


@dataclass
class Case:
    condition: Condition
    body: list[Statement]
    loc: Loc
    start: int = 0


@dataclass
class Branch:
    """``if`` / ``else if`` ... / ``else``: ``cases`` in order, then the else body."""
    cases: list[Case]
    otherwise: list[Statement] | None
    loc: Loc
    else_loc: Loc | None = None
    start: int = 0
    end: int = 0


Statement = Union[Plugin, Branch]


@dataclass
class Section:
    kind: str          # input | filter | output
    body: list[Statement]
    loc: Loc
    start: int = 0
    end: int = 0


@dataclass
class Config:
    sections: list[Section]
    comments: list[Comment] = field(default_factory=list)
    #: The sources read, in order (for messages and ``logpipe check``).
    files: list[str] = field(default_factory=list)


def plain(value: Value) -> Any:
    """A value as plain Python data (a plugin block becomes ``{"type": name, ...}``)."""
    if isinstance(value, (Str, Num, Bare)):
        if isinstance(value, Bare) and value.value in ("true", "false"):
            return value.value == "true"
        return value.value
    if isinstance(value, Array):
        return [plain(v) for v in value.items]
    if isinstance(value, Hash):
        return {e.key: plain(e.value) for e in value.entries}
    out: dict[str, Any] = {"type": value.name}
    for attr in value.attributes:
        out[attr.name] = plain(attr.value)
    return out
