"""One dissect pattern, compiled once.

A mapping such as ``%{client} - %{user} [%{ts}] "%{request}"`` becomes a
leading delimiter and a list of (field, delimiter that ends it) steps; matching
is a chain of ``str.find`` calls, so it costs little more than ``str.split``
and cannot backtrack.

Field syntax and the order fields are stored in are Logstash's:

- ``%{name}`` stores the text; ``name`` may be a field reference (``[a][b]``).
- ``%{}`` and ``%{?name}`` skip the text (a named skip can feed ``%{&name}``).
- ``%{+name}`` appends to ``name``, joined by the delimiter found before the
  appended field (a space when there is none); ``%{+name/2}`` orders the parts.
  A field that already holds text before dissection is appended to.
- ``%{&name}`` stores the text under the name held by ``name``: the event's
  field of that name if it has one, else the text of the pattern's other
  field called ``name``.
- ``->`` after a name (``%{name->}``, also ``/2->`` or ``->/2``) swallows
  repeats of the delimiter that follows, for padded columns.

Normal fields are stored first, then appends in their order, then indirect
fields. The last field takes the rest of the text unless text follows it in
the pattern, in which case that text is searched like any delimiter and what
follows it is ignored. ``%{+&x}`` and ``%{&+x}`` are refused, as Logstash
refuses them. Fields with no delimiter between them (``%{a}%{b}``) load, as in
Logstash, but no text fits such a pattern (:attr:`Dissector.never_matches`;
the filter warns when it loads).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from logpipe.core.event import Event
from logpipe.core.fieldref import Path, parse
from logpipe.errors import ConfigError

_FIELD = re.compile(r"(.*?)%\{([^}]*?)\}", re.DOTALL)
_TRAILING = re.compile(r"[^}]+\Z")
_SUFFIX = re.compile(r"(.*?)(/\d{1,2}|->|/\d{1,2}->|->/\d{1,2})?", re.DOTALL)
_ORDINAL = re.compile(r"\d+")

NORMAL, SKIP, APPEND, INDIRECT = range(4)
#: Fields that never receive dissected text (a string there breaks the event).
_RESERVED = frozenset({("@metadata",), ("@timestamp",)})
_MISSING: Any = object()


@dataclass(frozen=True)
class Step:
    kind: int
    name: str            # the key: the text between the prefix and the suffix
    before: str          # delimiter found before this field ("" for none)
    after: str           # delimiter that ends this field ("" for the rest of the text)
    pad: bool            # swallow repeats of ``after``
    order: int           # position among appends of the same name


def _name_and_suffix(spec: str) -> tuple[str, str]:
    m = _SUFFIX.fullmatch(spec)
    assert m is not None  # the name part matches anything
    name, suffix = m.group(1), m.group(2) or ""
    if not name and suffix:
        return "", suffix
    return name, suffix


def parse_field(spec: str, before: str, after: str, pattern: str) -> Step:
    """One ``%{...}`` of ``pattern``; raises ConfigError where Logstash refuses it."""
    kind = NORMAL
    if not spec or spec[0] == "?":
        kind, spec = SKIP, spec[1:]
    elif spec.startswith(("+&", "&+")):
        raise ConfigError(f"dissect pattern {pattern!r}: %{{{spec}}} cannot be both an "
                          f"append (+) and an indirect (&) field")
    elif spec[0] in "+&":
        kind, spec = (APPEND if spec[0] == "+" else INDIRECT), spec[1:]
        if not spec:
            raise ConfigError(f"dissect pattern {pattern!r}: a prefix needs a field name")
    name, suffix = _name_and_suffix(spec)
    if not name and kind in (APPEND, INDIRECT):
        raise ConfigError(f"dissect pattern {pattern!r}: %{{{spec}}} has a suffix but no name")
    if kind == NORMAL and not name:
        kind = SKIP
    order = 100
    if kind == APPEND and suffix.replace("->", ""):
        order += int(_ORDINAL.search(suffix).group())  # type: ignore[union-attr]
    if kind in (NORMAL, APPEND):
        try:
            path = parse(name)
        except ConfigError as exc:
            raise ConfigError(f"dissect pattern {pattern!r}: {exc.message}") from None
        if path in _RESERVED:
            raise ConfigError(f"dissect pattern {pattern!r}: cannot store text in {name}")
    return Step(kind, name, before, after, "->" in suffix, order)


class Dissector:
    """One compiled pattern: ``split`` finds the texts, ``apply`` writes them into an event."""

    __slots__ = ("pattern", "prefix", "steps", "never_matches", "_cuts", "_top", "_nested",
                 "_appends", "_indirect", "_names")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        found = [(m.group(1), m.group(2)) for m in _FIELD.finditer(pattern)]
        if not found:
            raise ConfigError(f"dissect pattern {pattern!r} has no %{{field}}")
        trailing = ""
        last_end = pattern.rfind("}") + 1
        tail = _TRAILING.search(pattern)
        if tail is not None and tail.start() >= last_end:
            trailing = tail.group()
        self.prefix = found[0][0]
        steps: list[Step] = []
        #: Two fields with nothing between them: no text can be split there.
        self.never_matches = any(not before for before, _ in found[1:])
        for i, (before, spec) in enumerate(found):
            after = found[i + 1][0] if i + 1 < len(found) else trailing
            steps.append(parse_field(spec, before, after, pattern))
        self.steps = tuple(steps)
        self._cuts = tuple((s.after, s.pad) for s in steps)
        appended = {s.name for s in steps if s.kind == APPEND}
        top: list[tuple[int, str]] = []
        nested: list[tuple[int, Path]] = []
        base: dict[str, int] = {}          # appended name -> its (last) normal field
        for i, s in enumerate(steps):
            if s.kind != NORMAL:
                continue
            if s.name in appended:
                base[s.name] = i
                continue
            path = parse(s.name)
            if len(path) == 1:
                top.append((i, path[0]))
            else:
                nested.append((i, path))
        self._top = tuple(top)
        self._nested = tuple(nested)
        # Appends in Logstash's order: by ordinal, then as written (a stable sort);
        # each name is joined once, starting from its normal field when it has one.
        ordered = sorted((s.order, i) for i, s in enumerate(steps) if s.kind == APPEND)
        parts: dict[str, list[tuple[int, str]]] = {}
        for _, i in ordered:
            parts.setdefault(steps[i].name, []).append((i, steps[i].before or " "))
        self._appends = tuple((parse(name), base.get(name), tuple(found))
                              for name, found in parts.items())
        self._indirect = tuple((i, steps[i].name, parse(steps[i].name) if steps[i].name else ())
                               for i, s in enumerate(steps) if s.kind == INDIRECT)
        self._names = tuple(s.name for s in steps)

    def split(self, text: str) -> list[str] | None:
        """The text of each step, or None when a delimiter is missing."""
        if self.never_matches:
            return None
        prefix = self.prefix
        if prefix:
            if not text.startswith(prefix):
                return None
            pos = len(prefix)
        else:
            pos = 0
        out: list[str] = []
        find = text.find
        for delimiter, pad in self._cuts:
            if not delimiter:
                out.append(text[pos:])
                break
            end = find(delimiter, pos)
            if end < 0:
                return None
            out.append(text[pos:end])
            pos = end + len(delimiter)
            if pad:
                while text.startswith(delimiter, pos):
                    pos += len(delimiter)
        return out

    def apply(self, event: Event, text: str, separator: str | None = None) -> bool:
        """Dissect ``text`` into ``event``; False (and nothing stored) when it does not fit.

        ``separator``, when given, joins appended parts instead of the delimiters.
        """
        values = self.split(text)
        if values is None:
            return False
        data = event.data
        for i, key in self._top:
            data[key] = values[i]
        for i, path in self._nested:
            event.set_path(path, values[i])
        for path, start, found in self._appends:
            text_so_far: str | None
            if start is not None:
                text_so_far = values[start]
            else:
                old = event.get_path(path, _MISSING)
                text_so_far = None if old is _MISSING or old is None else (
                    old if isinstance(old, str) else str(old))
            for i, joiner in found:
                if text_so_far is None:
                    text_so_far = values[i]
                else:
                    text_so_far += (joiner if separator is None else separator) + values[i]
            if len(path) == 1:
                data[path[0]] = text_so_far
            else:
                event.set_path(path, text_so_far)
        for i, name, path in self._indirect:
            key = self._indirect_name(event, values, i, name, path)
            if key and (key,) not in _RESERVED:
                data[key] = values[i]
        return True

    def _indirect_name(self, event: Event, values: list[str], index: int, name: str,
                       path: Path) -> str:
        held = event.get_path(path, _MISSING) if path else _MISSING
        if held is not _MISSING and held is not None:
            return held if isinstance(held, str) else str(held)
        for i, other in enumerate(self._names):
            if i != index and other == name:
                return values[i]
        return ""
