"""A recursive-descent parser for Logstash's pipeline configuration language.

The facts follow Logstash's own grammar (its treetop grammar and the AST that
compiles it): sections ``input``/``filter``/``output`` that may repeat; plugin
blocks ``name { attr => value ... }`` whose attributes are separated by blanks;
values that are strings, numbers, barewords, arrays, hashes or a plugin block;
``if`` / ``else if`` / ``else`` with conditions made of comparisons, regular
expression matches, ``in`` / ``not in``, ``!`` and parentheses, joined by
``and``, ``or``, ``xor``, ``nand``; ``#`` comments wherever blanks may be.

Strings keep what is written between their quotes, as Logstash does unless its
``config.support_escapes`` is on (then ``\\\\ \\" \\' \\n \\r \\t \\0`` are decoded):
``support_escapes=True`` does the same here.

Several files are parsed as one text, joined by newlines, in the order given
(Logstash reads ``conf.d/*.conf`` so), while every location still names the file
and line it came from.
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from logpipe.config.logstash.ast import (
    Array,
    Attribute,
    Bare,
    BoolChain,
    Branch,
    Case,
    Comment,
    Compare,
    Condition,
    Config,
    Group,
    Hash,
    HashEntry,
    In,
    Loc,
    Match,
    Not,
    Num,
    Plugin,
    Regex,
    RValue,
    Section,
    Selector,
    Statement,
    Str,
    Truthy,
    Value,
)
from logpipe.errors import ConfigError

SECTIONS = ("input", "filter", "output")
BOOL_OPS = ("and", "or", "xor", "nand")
_NAME = re.compile(r"[A-Za-z0-9_-]+")
_BAREWORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]*)?")
_WORD_CHAR = re.compile(r"[A-Za-z0-9_]")
_ESCAPES = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "r": "\r", "t": "\t", "0": "\0"}


def _number(text: str) -> int | float:
    """Logstash's numbers: a dot makes a float; a leading zero makes an integer octal
    (``010`` is 8), as Ruby's ``Integer()`` reads it. Raises ValueError for ``09``."""
    if "." in text:
        return float(text)
    digits = text.lstrip("-")
    if len(digits) > 1 and digits.startswith("0"):
        value = int(digits, 8)
        return -value if text.startswith("-") else value
    return int(text)


class LogstashSyntaxError(ConfigError):
    """A ``.conf`` text that does not parse: where, what was expected, what was found."""


@dataclass
class Source:
    name: str
    text: str


def process_escapes(text: str) -> str:
    """Logstash's escapes: ``\\" \\' \\\\ \\n \\r \\t \\0``; a backslash before any other
    character is dropped, a trailing one is kept."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n:
            out.append(_ESCAPES.get(text[i + 1], text[i + 1]))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


class _Text:
    """The concatenated sources, mapping an offset back to file, line and column."""

    def __init__(self, sources: list[Source]) -> None:
        parts: list[str] = []
        self.seg_starts: list[int] = []
        self.seg_names: list[str] = []
        offset = 0
        for src in sources:
            self.seg_starts.append(offset)
            self.seg_names.append(src.name)
            parts.append(src.text)
            offset += len(src.text) + 1
        self.s = "\n".join(parts)
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", self.s)]

    def loc(self, pos: int) -> Loc:
        seg = max(0, bisect.bisect_right(self.seg_starts, pos) - 1)
        seg_start = self.seg_starts[seg] if self.seg_starts else 0
        line_index = bisect.bisect_right(self.line_starts, pos) - 1
        first_line = bisect.bisect_right(self.line_starts, seg_start) - 1
        return Loc(self.seg_names[seg] if self.seg_names else "<config>",
                   line_index - first_line + 1, pos - self.line_starts[line_index] + 1)


class Parser:
    def __init__(self, sources: list[Source], *, support_escapes: bool = False) -> None:
        self.t = _Text(sources)
        self.s = self.t.s
        self.n = len(self.s)
        self.pos = 0
        self.comments: list[Comment] = []
        self._seen_comments: set[int] = set()
        self.support_escapes = support_escapes

    # --- helpers --------------------------------------------------------------------
    def loc(self, pos: int | None = None) -> Loc:
        return self.t.loc(self.pos if pos is None else pos)

    def found(self, pos: int) -> str:
        if pos >= self.n:
            return "end of input"
        m = re.match(r"[^\n]{0,30}", self.s[pos:])
        text = m.group().rstrip() if m else ""
        return repr(text) if text else "end of line"

    def error(self, expected: str, pos: int | None = None) -> LogstashSyntaxError:
        pos = self.pos if pos is None else pos
        loc = self.loc(pos)
        return LogstashSyntaxError(f"expected {expected}, found {self.found(pos)}",
                                   file=loc.file, line=loc.line, column=loc.column)

    def skip(self) -> bool:
        """Skip blanks and comments; True when anything was skipped."""
        start = self.pos
        s, n = self.s, self.n
        while self.pos < n:
            c = s[self.pos]
            if c in " \t\r\n":
                self.pos += 1
            elif c == "#":
                end = s.find("\n", self.pos)
                end = n if end < 0 else end
                if self.pos not in self._seen_comments:
                    self._seen_comments.add(self.pos)
                    line_start = s.rfind("\n", 0, self.pos) + 1
                    own = not s[line_start:self.pos].strip()
                    self.comments.append(Comment(s[self.pos + 1:end].rstrip("\r"), self.loc(),
                                                 own, self.pos))
                self.pos = end
            else:
                break
        return self.pos > start

    def peek(self, text: str) -> bool:
        return self.s.startswith(text, self.pos)

    def expect(self, text: str, what: str | None = None) -> None:
        if not self.peek(text):
            raise self.error(what or repr(text))
        self.pos += len(text)

    def word_at(self, word: str) -> bool:
        """``word`` at the cursor, not followed by a word character."""
        if not self.s.startswith(word, self.pos):
            return False
        end = self.pos + len(word)
        return end >= self.n or not _WORD_CHAR.match(self.s, end)

    # --- structure ------------------------------------------------------------------
    def parse(self) -> Config:
        sections: list[Section] = []
        self.skip()
        while self.pos < self.n:
            start = self.pos
            kind = next((k for k in SECTIONS if self.word_at(k)), None)
            if kind is None:
                raise self.error("a section: input, filter or output")
            loc = self.loc()
            self.pos += len(kind)
            self.skip()
            self.expect("{", f"'{{' after {kind!r}")
            body = self.statements(kind)
            sections.append(Section(kind, body, loc, start, self.pos))
            self.skip()
        return Config(sections, self.comments)

    def statements(self, section: str) -> list[Statement]:
        """Plugins and branches up to the closing brace (consumed)."""
        out: list[Statement] = []
        while True:
            self.skip()
            if self.pos >= self.n:
                raise self.error(f"'}}' to close the {section} block")
            if self.peek("}"):
                self.pos += 1
                return out
            if self.word_at("if"):
                out.append(self.branch(section))
            elif self.word_at("else"):
                raise self.error("a plugin or 'if' ('else' must follow the '}' of an 'if')")
            else:
                out.append(self.plugin())

    def branch(self, section: str) -> Branch:
        start = self.pos
        loc = self.loc()
        cases: list[Case] = []
        self.pos += 2
        cases.append(self.case(loc, start, section))
        otherwise: list[Statement] | None = None
        else_loc = None
        while True:
            save = self.pos
            self.skip()
            if not self.word_at("else"):
                self.pos = save
                break
            here = self.loc()
            case_start = self.pos
            self.pos += 4
            self.skip()
            if self.word_at("if"):
                self.pos += 2
                cases.append(self.case(here, case_start, section))
                continue
            self.expect("{", "'{' or 'if' after 'else'")
            else_loc = here
            otherwise = self.statements(section)
            break
        return Branch(cases, otherwise, loc, else_loc, start, self.pos)

    def case(self, loc: Loc, start: int, section: str) -> Case:
        self.skip()
        if self.peek("{"):
            raise self.error("a condition after 'if'")
        cond = self.condition()
        self.skip()
        self.expect("{", "'{' after the condition (or and, or, xor, nand)")
        body = self.statements(section)
        return Case(cond, body, loc, start)

    def name(self, what: str) -> tuple[str, Loc]:
        loc = self.loc()
        if self.peek('"') or self.peek("'"):
            s = self.string()
            return s.value, loc
        m = _NAME.match(self.s, self.pos)
        if m is None:
            raise self.error(what)
        self.pos = m.end()
        return m.group(), loc

    def plugin(self) -> Plugin:
        start = self.pos
        name, loc = self.name("a plugin name, 'if' or '}'")
        self.skip()
        self.expect("{", f"'{{' after the plugin name {name!r}")
        attrs: list[Attribute] = []
        spaced = True
        while True:
            spaced = self.skip() or spaced
            if self.pos >= self.n:
                raise self.error(f"'}}' to close the {name!r} block")
            if self.peek("}"):
                self.pos += 1
                break
            if not spaced:
                raise self.error(f"a blank, then the next setting or '}}' to close {name!r}")
            attr_start = self.pos
            attr_name, attr_loc = self.name(f"a setting name or '}}' to close {name!r}")
            self.skip()
            self.expect("=>", f"'=>' after the setting name {attr_name!r}")
            self.skip()
            attrs.append(Attribute(attr_name, self.value(), attr_loc, attr_start))
            spaced = False
        return Plugin(name, attrs, loc, start, self.pos)

    # --- values ---------------------------------------------------------------------
    def value(self) -> Value:
        c = self.s[self.pos] if self.pos < self.n else ""
        loc = self.loc()
        if c in "\"'":
            return self.string()
        if c == "[":
            return self.array()
        if c == "{":
            return self.hash()
        m = _NUMBER.match(self.s, self.pos)
        if m is not None and not (m.end() < self.n and _WORD_CHAR.match(self.s, m.end())):
            return Num(self.number(m), loc)
        m = _NAME.match(self.s, self.pos)
        if m is not None:
            save = self.pos
            self.pos = m.end()
            self.skip()
            if self.peek("{"):
                self.pos = save
                return self.plugin()
            self.pos = m.end()
            if not _BAREWORD.fullmatch(m.group()):
                raise self.error("a value: string, number, bareword, array, hash or plugin", save)
            return Bare(m.group(), loc)
        raise self.error("a value: string, number, bareword, array, hash or plugin")

    def number(self, m: re.Match[str]) -> int | float:
        try:
            value = _number(m.group())
        except ValueError:
            raise self.error("a number (a leading 0 makes it octal: digits 0 to 7)") from None
        self.pos = m.end()
        return value

    def string(self) -> Str:
        quote = self.s[self.pos]
        start = self.pos
        loc = self.loc()
        i = self.pos + 1
        s, n = self.s, self.n
        while i < n:
            c = s[i]
            if c == "\\" and i + 1 < n and s[i + 1] == quote:
                i += 2
            elif c == quote:
                raw = s[start + 1:i]
                self.pos = i + 1
                return Str(process_escapes(raw) if self.support_escapes else raw, loc, quote)
            else:
                i += 1
        raise self.error(f"the closing {quote} of the string opened here", start)

    def array(self) -> Array:
        loc = self.loc()
        self.pos += 1
        items: list[Value] = []
        self.skip()
        if self.peek("]"):
            self.pos += 1
            return Array(items, loc)
        while True:
            self.skip()
            items.append(self.value())
            self.skip()
            if self.peek(","):
                self.pos += 1
                continue
            if self.peek("]"):
                self.pos += 1
                return Array(items, loc)
            raise self.error("',' or ']' in the array")

    def hash(self) -> Hash:
        loc = self.loc()
        self.pos += 1
        entries: list[HashEntry] = []
        seen: dict[str, Loc] = {}
        while True:
            self.skip()
            if self.peek("}"):
                self.pos += 1
                return Hash(entries, loc)
            if entries and self.peek(","):
                self.pos += 1
                self.skip()
            key_loc = self.loc()
            if self.peek('"') or self.peek("'"):
                key = self.string().value
            else:
                m = _NAME.match(self.s, self.pos)
                if m is None:
                    raise self.error("a hash key (string, number or bareword) or '}'")
                key = m.group()
                self.pos = m.end()
            if key in seen:
                raise LogstashSyntaxError(f"duplicate key {key!r} in hash (first at line "
                                          f"{seen[key].line})", file=key_loc.file,
                                          line=key_loc.line, column=key_loc.column)
            seen[key] = key_loc
            self.skip()
            self.expect("=>", f"'=>' after the hash key {key!r}")
            self.skip()
            entries.append(HashEntry(key, self.value(), key_loc))

    # --- conditions -----------------------------------------------------------------
    def condition(self) -> Condition:
        loc = self.loc()
        first = self.expression()
        rest: list[tuple[str, Condition]] = []
        while True:
            save = self.pos
            self.skip()
            op = next((o for o in BOOL_OPS if self.word_at(o)), None)
            if op is None:
                self.pos = save
                break
            self.pos += len(op)
            self.skip()
            rest.append((op, self.expression()))
        return first if not rest else BoolChain(first, rest, loc)

    def expression(self) -> Condition:
        loc = self.loc()
        if self.peek("("):
            self.pos += 1
            self.skip()
            inner = self.condition()
            self.skip()
            self.expect(")", "')' or and, or, xor, nand")
            return Group(inner, loc)
        if self.peek("!") and not self.peek("!=") and not self.peek("!~"):
            self.pos += 1
            self.skip()
            if self.peek("("):
                return Not(self.expression(), loc)
            if self.peek("["):
                return Not(Truthy(self.selector(), self.loc()), loc)
            raise self.error("'(' or a [field] after '!'")
        left = self.rvalue()
        save = self.pos
        self.skip()
        for op in ("==", "!=", "<=", ">=", "<", ">"):
            if self.peek(op):
                self.pos += len(op)
                self.skip()
                return Compare(op, left, self.rvalue(), loc)
        for op in ("=~", "!~"):
            if self.peek(op):
                self.pos += 2
                self.skip()
                right = self.rvalue()
                if not isinstance(right, (Regex, Str)):
                    raise self.error(f"a /regex/ or a string after {op!r}", self.pos)
                return Match(op, left, right, loc)
        if self.word_at("in"):
            self.pos += 2
            self.skip()
            return In(left, self.rvalue(), False, loc)
        if self.word_at("not"):
            self.pos += 3
            self.skip()
            if not self.word_at("in"):
                raise self.error("'in' after 'not'")
            self.pos += 2
            self.skip()
            return In(left, self.rvalue(), True, loc)
        self.pos = save
        if isinstance(left, Regex):
            raise self.error("=~ or !~ before a /regex/", save)
        return Truthy(left, loc)

    def rvalue(self) -> RValue:
        c = self.s[self.pos] if self.pos < self.n else ""
        loc = self.loc()
        if c in "\"'":
            return self.string()
        if c == "/":
            return self.regex()
        if c == "[":
            sel = self.try_selector()
            if sel is not None:
                return sel
            return self.array()
        m = _NUMBER.match(self.s, self.pos)
        if m is not None:
            return Num(self.number(m), loc)
        if _BAREWORD.match(self.s, self.pos):
            m2 = _BAREWORD.match(self.s, self.pos)
            assert m2 is not None
            if m2.group() in ("true", "false", "null", "nil"):
                raise LogstashSyntaxError(
                    f"expected a value, found {m2.group()!r}: Logstash conditions have no "
                    f"{m2.group()} literal; test the field alone ([field] or ![field]) or compare "
                    f"with a string", file=loc.file, line=loc.line, column=loc.column)
            raise LogstashSyntaxError(
                f"expected a value (a [field], \"string\", number, [list] or /regex/), found "
                f"bareword {m2.group()!r}: fields are written [{m2.group()}] and strings in quotes",
                file=loc.file, line=loc.line, column=loc.column)
        raise self.error("a value: [field], \"string\", number, [list] or /regex/")

    _ELEMENT = re.compile(r"\[([^\]\[,]+)\]")

    def try_selector(self) -> Selector | None:
        loc = self.loc()
        keys: list[str] = []
        pos = self.pos
        while True:
            m = self._ELEMENT.match(self.s, pos)
            if m is None:
                break
            keys.append(m.group(1))
            pos = m.end()
        if not keys:
            return None
        self.pos = pos
        return Selector(tuple(keys), loc)

    def selector(self) -> Selector:
        sel = self.try_selector()
        if sel is None:
            raise self.error("a field reference such as [field][subfield]")
        return sel

    def regex(self) -> Regex:
        loc = self.loc()
        start = self.pos
        i = self.pos + 1
        s, n = self.s, self.n
        while i < n:
            if s[i] == "\\" and i + 1 < n:
                i += 2
            elif s[i] == "/":
                self.pos = i + 1
                return Regex(s[start + 1:i], loc)
            elif s[i] == "\n":
                break
            else:
                i += 1
        raise self.error("the closing '/' of the regular expression opened here", start)


def parse_sources(sources: list[Source], *, support_escapes: bool = False) -> Config:
    parser = Parser(sources, support_escapes=support_escapes)
    config = parser.parse()
    config.files = [s.name for s in sources]
    return config


def parse_text(text: str, name: str = "<config string>", *, support_escapes: bool = False) -> Config:
    return parse_sources([Source(name, text)], support_escapes=support_escapes)
