"""Turn a grok expression into one regular expression and a capture plan.

Grok expressions are Oniguruma regular expressions with ``%{SYNTAX}``,
``%{SYNTAX:SEMANTIC}`` and ``%{SYNTAX:SEMANTIC:TYPE}`` references to named
patterns. This module expands the references and rewrites the Oniguruma
spellings into the syntax our engines read:

- every capture becomes a group named ``g<N>`` (field references such as
  ``[http][request][method]`` are not valid group names); the plan remembers
  which field and which type each group stands for;
- unnamed ``( )`` groups become non-capturing, since grok never stores them and
  fewer groups make matching cheaper (unless numbered backreferences need them);
- ``(?m)`` (Oniguruma's "dot matches newline") becomes ``(?s)``, and an isolated
  option such as ``(?i)`` is scoped to the end of its group as Oniguruma does;
- ``\\h`` (hex digit) and ``\\z`` are spelled out;
- ``^`` and ``$`` become line anchors (Onigmo's meaning), and ``.`` matches a
  newline (grok compiles with Ruby's MULTILINE flag; see the engine);
- POSIX classes ``[[:alnum:]]``, ``[[:alpha:]]`` and ``[[:word:]]`` match Unicode
  letters, as in Onigmo (``\\w``, ``\\d``, ``\\s`` and ``\\b`` stay ASCII there too);
- inline definitions ``%{NAME=regex}`` and ``%{NAME:field=regex}`` are expanded.

It also notes whether the result stays inside what RE2 accepts (no
lookaround, atomic groups, possessive quantifiers or backreferences), and
whether a backtracking engine can extract the captures of a line RE2 matched
without a time budget (``Translation.audited``, see :func:`_repeats`); both
decide the engine in :mod:`logpipe.filters.grok.engine`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

from logpipe.core.fieldref import Path, parse
from logpipe.errors import ConfigError

#: Accepted ``%{SYNTAX:SEMANTIC:TYPE}`` types and their canonical names.
TYPES = {"int": "int", "integer": "int", "long": "int",
         "float": "float", "double": "float",
         "bool": "bool", "boolean": "bool"}

_NAME = re.compile(r"[A-Za-z0-9_]+")
#: Inside ``%{...}``: the pattern name, an optional ``:semantic[:type]``, an optional
#: ``=definition``; anything else up to the closing brace is ignored, as Logstash does.
_REFERENCE = re.compile(r"(?P<name>[A-Za-z0-9_]+)(?::(?P<sub>[@\[\]A-Za-z0-9_:.-]+))?"
                        r"(?:=(?P<definition>.*))?", re.DOTALL)


def _reference_end(text: str, start: int) -> int:
    """Index of the ``}`` closing a ``%{`` whose content starts at ``start`` (-1: none).

    Braces inside an inline definition nest (``%{ID=\\d{3}}``); a backslash escapes.
    """
    depth = 0
    i, n = start, len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            if depth == 0:
                return i
            depth -= 1
        i += 1
    return -1
_QUANTIFIER = re.compile(r"\{(\d*)(?:(,)(\d*))?\}")
_FLAGS = re.compile(r"([a-zA-Z]*)(?:-([a-zA-Z]*))?([:)])")
_HEX_CLASS = "0-9A-Fa-f"
#: POSIX bracket classes spelled out (the stdlib ``re`` does not know them).
_POSIX_CLASSES = {
    "alnum": "a-zA-Z0-9", "alpha": "a-zA-Z", "ascii": "\\x00-\\x7f", "blank": " \\t",
    "cntrl": "\\x00-\\x1f\\x7f", "digit": "0-9", "graph": "!-~", "lower": "a-z",
    "print": " -~", "punct": "!-/:-@\\[-`{-~", "space": "\\s", "upper": "A-Z",
    "word": "\\w", "xdigit": "0-9A-Fa-f",
}


#: POSIX classes that match Unicode letters (and digits) in Onigmo: the Python
#: spelling (a Unicode-scoped group, since ``re`` has no property classes) and
#: the members of an RE2 class.
_UNICODE_PY = {"alnum": "(?u:[^\\W_])", "alpha": "(?u:[^\\W\\d_])", "word": "(?u:\\w)"}
_UNICODE_RE2 = {"alnum": "\\p{L}\\p{N}", "alpha": "\\p{L}", "word": "\\p{L}\\p{N}_"}


def _unicode_posix(text: str, i: int) -> list[str]:
    """The Unicode POSIX classes directly inside the bracket expression at ``text[i]``."""
    found: list[str] = []
    j, n = i + 1, len(text)
    if j < n and text[j] == "]":
        j += 1
    while j < n:
        c = text[j]
        if c == "\\":
            j += 2
            continue
        if c == "]":
            return found
        if text.startswith("[:", j):
            k = text.find(":]", j + 2)
            if k < 0:
                return []
            name = text[j + 2:k]
            if name in _UNICODE_PY and name not in found:
                found.append(name)
            j = k + 2
            continue
        j += 1
    return []


@dataclass(frozen=True)
class CaptureSpec:
    """One capturing group of the final regex and where its text goes."""

    group: str          # group name in the regex (g0, g1, ...)
    field: str          # the field reference as written
    path: Path
    type: str | None    # "int", "float", "bool" or None


@dataclass(frozen=True)
class Translation:
    expression: str                 # the grok text as given
    regex: str                      # for the ``regex`` module (Python syntax)
    re2: str | None                 # for RE2; None when RE2 cannot run it
    gate: str | None                # the RE2 text without capturing groups
    captures: tuple[CaptureSpec, ...]
    re2_blockers: tuple[str, ...]   # why RE2 cannot run it
    #: True when backtracking over a line that is known to match stays cheap:
    #: every repeated group comes from the bundled library (whose bodies are
    #: written to avoid ambiguous repetition), and whatever the user wrote inside
    #: such a repetition is plain literals and classes. Outside any repetition the
    #: user may add alternations, optional groups and single-atom repetition such
    #: as ``\s+``: each alternative only multiplies the work by a constant.
    audited: bool = False
    #: The gate for a text without a newline, where Onigmo's line anchors are
    #: plain start and end anchors: RE2 then knows where a match can start
    #: instead of searching for it. None when it would equal ``gate``.
    gate_single_line: str | None = None


class _Unnamed:
    """Marker for an unnamed group opening, decided once the whole text is known."""


class _Open:
    """A capturing group opening; the capture-free RE2 gate renders it as ``(?:``."""

    __slots__ = ("text",)

    def __init__(self, group: str) -> None:
        self.text = f"(?P<{group}>"


class _Anchor:
    """``^`` or ``$``: a line anchor in Onigmo, kept apart so the single-line gate can differ."""

    __slots__ = ("char",)

    def __init__(self, char: str) -> None:
        self.char = char


_UNNAMED = _Unnamed()
_Token = str | tuple[str, str] | _Unnamed | _Open | _Anchor


#: Lookaheads put in front of a bundled pattern's body in the ``re`` form only.
#: Each states what every match of the body starts with, so it changes no
#: answer; ``re`` tries alternatives one after the other, and an IPv6 address is
#: about twenty of them, every one failing on an IPv4 address or a host name
#: (about a tenth of matching a whole Apache line). Applies only while the
#: listed patterns are the bundled ones. RE2 runs alternatives side by side and
#: gets nothing from it.
_RE_HINTS: dict[str, tuple[str, tuple[str, ...]]] = {
    # Every alternative of IPV6_FULL/V4TAIL/MIDDLE/EDGE starts with a group of one to
    # four hex digits and a colon, or with a colon.
    "IPV6": ("(?=[0-9A-Fa-f]{0,4}:)",
             ("IPV6", "IPV6_FULL", "IPV6_V4TAIL", "IPV6_MIDDLE", "IPV6_EDGE", "IPV6_GROUP")),
}


class GrokSyntaxError(ConfigError):
    """A grok expression that cannot be compiled."""


class _Translator:
    def __init__(self, library: Mapping[str, str], named_captures_only: bool,
                 audited_bodies: Mapping[str, str]) -> None:
        self.library = library
        self.audited_bodies = audited_bodies
        self.free_form = False
        self.named_only = named_captures_only
        self.out: list[_Token] = []
        self.captures: list[CaptureSpec] = []
        self.by_name: dict[str, str] = {}
        self.blockers: set[str] = set()
        self.numbered_backrefs = False
        # One entry per open group (the expression itself at the bottom): whether
        # user-written text inside it has an alternation or a quantifier, i.e. more
        # than one way to match. Decided when the group closes and its own
        # quantifier is known; see ``_close``.
        self.choices: list[bool] = [False]

    # --- driver -----------------------------------------------------------------------
    def run(self, text: str, stack: tuple[str, ...], audited: bool = False) -> None:
        """Translate ``text``; ``stack`` names the patterns being expanded (cycle check).

        ``audited`` tells whether ``text`` is a bundled library body.
        """
        ctx = [0]             # per open group: isolated-option groups to close with it
        prev_quant = False
        i, n = 0, len(text)
        emit = self.out.append
        while i < n:
            c = text[i]
            if c == "\\":
                i = self._escape(text, i, in_class=False)
                prev_quant = False
            elif c == "[":
                i = self._char_class(text, i)
                prev_quant = False
            elif c == "(":
                depth = len(ctx)
                i = self._group(text, i, ctx)
                if len(ctx) > depth:
                    self.choices.append(False)
                prev_quant = False
            elif c == ")":
                if len(ctx) == 1:
                    raise self._error(text, f"unbalanced ')' at position {i + 1}")
                emit(")" * ctx.pop() + ")")
                i += 1
                prev_quant = False
                self._close(text, i, audited)
            elif c == "|":
                if not audited:
                    self.choices[-1] = True
                emit(c)
                i += 1
                prev_quant = False
            elif c == "%" and text.startswith("%{", i):
                j = _reference_end(text, i + 2)
                if j < 0:
                    raise self._error(text, f"unterminated %{{ at position {i + 1}")
                self.choices.append(False)
                self._reference(text[i + 2:j], stack)
                i = j + 1
                prev_quant = False
                self._close(text, i, audited)
            elif c == "^" or c == "$":
                # Onigmo's ^ and $ are line anchors whatever the options are.
                emit(_Anchor(c))
                i += 1
                prev_quant = False
            elif c in "*+?":
                if prev_quant and c == "+":
                    self.blockers.add("possessive quantifier")
                    prev_quant = False
                elif prev_quant and c == "?":
                    prev_quant = False     # lazy modifier
                else:
                    prev_quant = True
                if not audited:
                    self.choices[-1] = True
                emit(c)
                i += 1
            elif c == "{":
                m = _QUANTIFIER.match(text, i)
                if m and (m.group(1) or m.group(3)):
                    low, comma, high = m.group(1), m.group(2) or "", m.group(3) or ""
                    emit("{" + (low or "0") + comma + high + "}")
                    i = m.end()
                    prev_quant = True
                    if not audited:
                        self.choices[-1] = True
                else:
                    emit("\\{")
                    i += 1
                    prev_quant = False
            else:
                emit(c)
                i += 1
                prev_quant = False
        if len(ctx) > 1:
            raise self._error(text, "missing ')'")
        if ctx[0]:
            emit(")" * ctx[0])

    def _close(self, text: str, i: int, audited: bool) -> None:
        """A group (or a ``%{reference}``) just closed, and ``text[i:]`` follows it.

        Backtracking can cost more than a constant factor only where a repetition
        can split the same text in more than one way: a repeated group whose body
        has choices. Library bodies are audited for that; so a repeated group
        written by the user, or a library repetition around user-written choices
        (a redefined pattern it refers to), marks the expression as free-form.
        Choices outside any repetition (``(?:-|%{USER})``, ``(?:\\?%{GREEDYDATA})?``)
        are alternatives tried one after the other: a constant factor.
        """
        inner = self.choices.pop()
        if _repeats(text, i) and (inner or not audited):
            self.free_form = True
        if inner:
            self.choices[-1] = True

    def _error(self, text: str, message: str) -> GrokSyntaxError:
        return GrokSyntaxError(f"invalid grok expression {text!r}: {message}")

    # --- pieces -----------------------------------------------------------------------
    def _escape(self, text: str, i: int, *, in_class: bool) -> int:
        emit = self.out.append
        if i + 1 >= len(text):
            raise self._error(text, "trailing backslash")
        d = text[i + 1]
        if d in "hH":
            if in_class:
                if d == "H":
                    raise self._error(text, "\\H inside a character class is not supported")
                emit(_HEX_CLASS)
            else:
                emit("[" + ("^" if d == "H" else "") + _HEX_CLASS + "]")
            return i + 2
        if in_class:
            emit(text[i:i + 2])
            return i + 2
        if d in "123456789":
            j = i + 1
            while j < len(text) and text[j].isdigit():
                j += 1
            self.numbered_backrefs = True
            self.blockers.add("backreference")
            emit(text[i:j])
            return j
        if d == "k" and i + 2 < len(text) and text[i + 2] in "<'":
            close = ">" if text[i + 2] == "<" else "'"
            j = text.find(close, i + 3)
            if j < 0:
                raise self._error(text, "unterminated \\k<name>")
            emit(self._backref(text, text[i + 3:j]))
            return j + 1
        if d == "g":
            raise self._error(text, "subexpression calls (\\g<name>) are not supported")
        if d == "z":
            emit(("\\Z", "\\z"))
            return i + 2
        if d == "Z":
            emit("$")
            return i + 2
        if d in "GK":
            self.blockers.add(f"\\{d}")
        emit(text[i:i + 2])
        return i + 2

    def _backref(self, text: str, name: str) -> str:
        group = self.by_name.get(name)
        if group is None:
            raise self._error(text, f"backreference to unknown group {name!r}")
        self.blockers.add("backreference")
        return f"(?P={group})"

    def _char_class(self, text: str, i: int) -> int:
        """A bracket expression. POSIX letter classes match Unicode letters, as in Onigmo.

        Python's ``re`` has no Unicode property classes, so a positive class that
        holds ``[:alnum:]``, ``[:alpha:]`` or ``[:word:]`` becomes an alternation of a
        Unicode-scoped class and the rest of the members; RE2 (the gate) gets one
        class with ``\\p{L}``/``\\p{N}``, which matches the same characters.
        """
        if not text.startswith("[^", i):
            unicode_parts = _unicode_posix(text, i)
            if unicode_parts:
                return self._unicode_class(text, i, unicode_parts)
        return self._char_class_members(text, i, skip_unicode=False)

    def _unicode_class(self, text: str, i: int, parts: list[str]) -> int:
        """``[[:alnum:]_.-]`` -> ``(?:(?u:[^\\W_])|[_.-])`` for Python, one class for RE2."""
        start = len(self.out)
        end = self._char_class_members(text, i, skip_unicode=True)
        # Class members are emitted as plain text (no engine-specific tokens).
        rest = "".join(t for t in self.out[start:] if isinstance(t, str))
        del self.out[start:]
        py = "|".join(_UNICODE_PY[p] for p in parts)
        re2 = "".join(_UNICODE_RE2[p] for p in parts)
        if rest != "[]":
            py += "|" + rest
            re2 += rest[1:-1]
        self.out.append((f"(?:{py})", f"[{re2}]"))
        return end

    def _char_class_members(self, text: str, i: int, *, skip_unicode: bool) -> int:
        """Emit ``[members]`` (POSIX classes translated; with ``skip_unicode`` the Unicode
        ones left out, for :meth:`_unicode_class`); returns the end index."""
        emit = self.out.append
        n = len(text)
        emit("[")
        j = i + 1
        if j < n and text[j] == "^":
            emit("^")
            j += 1
        if j < n and text[j] == "]":
            emit("\\]")
            j += 1
        while j < n:
            c = text[j]
            if c == "\\":
                j = self._escape(text, j, in_class=True)
                continue
            if c == "[":
                if text.startswith("[:", j):
                    k = text.find(":]", j + 2)
                    if k < 0:
                        raise self._error(text, "unterminated POSIX class")
                    name = text[j + 2:k]
                    if not (skip_unicode and name in _UNICODE_PY):
                        posix = _POSIX_CLASSES.get(name)
                        if posix is None:
                            raise self._error(text, f"unknown POSIX class {text[j:k + 2]}")
                        emit(posix)
                    j = k + 2
                    continue
                emit("\\[")
            elif c == "&" and text.startswith("&&", j):
                raise self._error(text, "character class intersection (&&) is not supported")
            elif c == "]":
                emit("]")
                return j + 1
            else:
                emit(c)
            j += 1
        raise self._error(text, f"unterminated character class at position {i + 1}")

    def _group(self, text: str, i: int, ctx: list[int]) -> int:
        emit = self.out.append
        if not text.startswith("(?", i):
            ctx.append(0)
            emit(_UNNAMED)
            return i + 1
        rest = i + 2
        ahead = text[rest:rest + 2]
        name_close = None
        if ahead.startswith("<") and ahead not in ("<=", "<!"):
            name_start, name_close = rest + 1, ">"
        elif ahead == "P<":
            name_start, name_close = rest + 2, ">"
        elif ahead.startswith("'"):
            name_start, name_close = rest + 1, "'"
        if name_close is not None:
            j = text.find(name_close, name_start)
            if j <= name_start:
                raise self._error(text, f"bad group name at position {i + 1}")
            ctx.append(0)
            emit(self._open_capture(text[name_start:j], None))
            return j + 1
        if ahead == "P=":
            j = text.find(")", rest)
            if j < 0:
                raise self._error(text, "unterminated (?P=name)")
            emit(self._backref(text, text[rest + 2:j]))
            return j + 1
        for opener, why in (("<=", "lookbehind"), ("<!", "lookbehind"), ("=", "lookahead"),
                            ("!", "lookahead"), (">", "atomic group")):
            if text.startswith(opener, rest):
                self.blockers.add(why)
                ctx.append(0)
                emit("(?" + opener)
                return rest + len(opener)
        if ahead.startswith("#"):
            j = text.find(")", rest)
            if j < 0:
                raise self._error(text, "unterminated comment group")
            return j + 1
        if ahead.startswith(":"):
            ctx.append(0)
            emit("(?:")
            return rest + 1
        m = _FLAGS.match(text, rest)
        if not m or not (m.group(1) or m.group(2) is not None):
            raise self._error(text, f"unsupported group syntax at position {i + 1}")
        on, off = _onig_flags(m.group(1)), _onig_flags(m.group(2) or "")
        flags = on + ("-" + off if off else "")
        if m.group(3) == ":":
            ctx.append(0)
            emit(f"(?{flags}:")
        else:
            # An isolated option applies to the rest of the enclosing group.
            ctx[-1] += 1
            emit(f"(?{flags}:")
        return m.end()

    def _open_capture(self, field: str, type_: str | None) -> _Open:
        try:
            path = parse(field)
        except ConfigError as exc:
            raise GrokSyntaxError(f"bad capture name {field!r}: {exc.message}") from None
        group = f"g{len(self.captures)}"
        self.captures.append(CaptureSpec(group, field, path, type_))
        self.by_name.setdefault(field, group)
        return _Open(group)

    def _reference(self, inner: str, stack: tuple[str, ...]) -> None:
        m = _REFERENCE.match(inner)
        if m is None:
            raise GrokSyntaxError(f"bad pattern reference %{{{inner}}}")
        # As in Logstash's grok, text after the name and semantic is ignored
        # (``%{NAME - a comment}`` is ``%{NAME}``).
        name, rest, definition = m.group("name"), m.group("sub") or "", m.group("definition")
        inline = definition is not None
        semantic, _, type_ = rest.partition(":")
        if inline:
            # %{NAME=regex} / %{NAME:field=regex}: NAME is defined on the spot, for the
            # rest of this expression (as in Logstash, where each expression has its own
            # copy of the library).
            if not definition or not _NAME.fullmatch(name):
                raise GrokSyntaxError(f"bad inline pattern definition %{{{inner}}}")
            self.library = {**self.library, name: definition}
        body = self.library.get(name)
        if body is None:
            raise GrokSyntaxError(f"unknown grok pattern %{{{name}}}")
        if name in stack:
            chain = " -> ".join(stack[stack.index(name):] + (name,))
            raise GrokSyntaxError(f"grok pattern %{{{name}}} refers to itself ({chain})")
        canonical: str | None = None
        if type_:
            canonical = TYPES.get(type_.lower())
            if canonical is None:
                raise GrokSyntaxError(f"unknown type {type_!r} in %{{{inner}}}; "
                                      f"use one of int, float, bool")
        if semantic:
            self.out.append(self._open_capture(semantic, canonical))
        elif not self.named_only:
            self.out.append(self._open_capture(name, None))
        else:
            self.out.append("(?:")
        hint = _RE_HINTS.get(name)
        if hint is not None and all(self.audited_bodies.get(n) == self.library.get(n) is not None
                                    for n in hint[1]):
            self.out.append((hint[0], ""))
        self.run(body, stack + (name,), audited=self.audited_bodies.get(name) == body)
        self.out.append(")")

    # --- result -----------------------------------------------------------------------
    def assemble(self, expression: str) -> Translation:
        unnamed = "(" if self.numbered_backrefs else "(?:"
        if self.numbered_backrefs and self.captures:
            raise GrokSyntaxError(f"invalid grok expression {expression!r}: numbered "
                                  "backreferences cannot be mixed with named captures; "
                                  "use \\k<name>")
        py: list[str] = []
        r2: list[str] = []
        gate: list[str] = []
        single: list[str] = []        # the gate with plain anchors (see Translation)
        for tok in self.out:
            if isinstance(tok, _Anchor):
                anchor = f"(?m:{tok.char})"
                py.append(anchor)
                r2.append(anchor)
                gate.append(anchor)
                single.append(tok.char)
                continue
            if isinstance(tok, _Unnamed):
                py.append(unnamed)
                r2.append(unnamed)
                gate.append("(?:")
            elif isinstance(tok, _Open):
                py.append(tok.text)
                r2.append(tok.text)
                gate.append("(?:")
            elif isinstance(tok, tuple):
                py.append(tok[0])
                r2.append(tok[1])
                gate.append(tok[1])
            else:
                py.append(tok)
                r2.append(tok)
                gate.append(tok)
            single.append(gate[-1])
        blockers = tuple(sorted(self.blockers))
        gate_text = "".join(gate)
        single_text = "".join(single)
        return Translation(expression, "".join(py), None if blockers else "".join(r2),
                           None if blockers else gate_text,
                           tuple(self.captures), blockers, not self.free_form,
                           None if blockers or single_text == gate_text else single_text)


def _repeats(text: str, i: int) -> bool:
    """Whether the quantifier at ``text[i]`` (if any) lets its atom match more than once.

    ``?`` and ``{0,1}`` only make it optional. Bounded counts such as ``{2,5}``
    count as repetition too: their cost is bounded, but exponential in the count.
    """
    if i >= len(text):
        return False
    c = text[i]
    if c in "*+":
        return True
    if c != "{":
        return False
    m = _QUANTIFIER.match(text, i)
    if m is None or not (m.group(1) or m.group(3)):
        return False          # a literal brace
    if m.group(2) and not m.group(3):
        return True           # {n,}
    return int(m.group(3) if m.group(2) else m.group(1)) > 1


def _onig_flags(flags: str) -> str:
    """Oniguruma's ``m`` (dot matches newline) is ``s`` in Python and RE2."""
    return "".join(dict.fromkeys("s" if f == "m" else f for f in flags))


def translate(expression: str, library: Mapping[str, str], *,
              named_captures_only: bool = True,
              audited_bodies: Mapping[str, str] | None = None) -> Translation:
    """Expand and rewrite one grok expression. Raises GrokSyntaxError.

    ``audited_bodies`` is the bundled library: references whose body is
    unchanged from it count as audited (see ``Translation.audited``).
    """
    translator = _Translator(library, named_captures_only, audited_bodies or {})
    translator.run(expression, ())
    return translator.assemble(expression)
