"""The dissect filter: split text on literal delimiters, no regular expressions.

A mapping such as ``%{client} - %{user} [%{ts}] "%{request}"`` is compiled once
into a leading delimiter and a list of (field, delimiter that ends it) steps;
matching is a chain of ``str.find`` calls, so it costs little more than
``str.split`` and cannot backtrack.

Field syntax (Logstash's):

- ``%{name}`` stores the text; ``name`` may be a field reference (``[a][b]``).
- ``%{}`` and ``%{?name}`` skip the text.
- ``%{+name}`` appends to ``name`` with ``append_separator``; ``%{+name/2}``
  gives the position among the appended parts.
- ``%{?key}=%{&key}`` stores the second text under the name found by the first.
- ``%{name->}`` (any modifier may carry ``->``) also swallows repeats of the
  delimiter that follows, for right-padded columns.

The last field takes the rest of the text. A line that lacks a delimiter gets
``tag_on_failure`` and no fields.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import Field

from logpipe.core.event import Event
from logpipe.core.fieldref import Path, parse
from logpipe.core.plugin import Filter, PluginContext
from logpipe.errors import ConfigError
from logpipe.filters.common import CommonActions, CommonOptions, StrList

_FIELD = re.compile(r"%\{([^}]*)\}")
_ORDINAL = re.compile(r"^(.*)/(\d+)$")

NORMAL, SKIP, APPEND, INDIRECT_KEY, INDIRECT_VALUE = range(5)
#: Fields that never receive dissected text (a string there breaks the event).
_RESERVED = frozenset({("@metadata",), ("@timestamp",)})


class DissectConfig(CommonOptions):
    """Split text into fields on literal delimiters."""

    logstash_hashes: ClassVar[tuple[str, ...]] = ("mapping", "convert_datatype")

    mapping: dict[str, str] = Field(default_factory=dict, description=(
        "Source field -> dissect pattern, e.g. {message: '%{ts} %{+ts} %{level} %{msg}'}."))
    convert_datatype: dict[str, Literal["int", "float"]] = Field(default_factory=dict, description=(
        "Field -> 'int' or 'float', applied after dissection. Text that is no number "
        "stays text."))
    append_separator: str = Field(" ", description="Joins the parts of %{+field} appends.")
    tag_on_failure: StrList = Field(default_factory=lambda: ["_dissectfailure"], description=(
        "Tags added when a pattern does not fit its source text."))


@dataclass(frozen=True)
class _Step:
    kind: int
    name: str            # field reference, or the key name for ?/& pairs
    delimiter: str       # text that ends this field ("" for the last field)
    pad: bool            # swallow repeated delimiters
    ordinal: int         # position among appends of the same field


class Dissector:
    """One compiled dissect pattern.

    Everything that does not depend on the text is decided here: which step
    stores where (top-level keys are plain dict writes), and the order in which
    appended parts are joined.
    """

    __slots__ = ("pattern", "prefix", "steps", "_delims", "_top", "_nested", "_joins", "_pairs")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        pieces = _FIELD.split(pattern)
        # pieces: [lead, field1, delim1, field2, delim2, ..., fieldN, tail]
        if len(pieces) < 3:
            raise ConfigError(f"dissect pattern {pattern!r} has no %{{field}}")
        self.prefix = pieces[0]
        steps: list[_Step] = []
        for idx in range(1, len(pieces), 2):
            delimiter = pieces[idx + 1]
            if not delimiter and idx + 2 < len(pieces):
                raise ConfigError(f"dissect pattern {pattern!r}: fields %{{{pieces[idx]}}} and "
                                  f"%{{{pieces[idx + 2]}}} have no delimiter between them")
            steps.append(self._parse_field(pieces[idx], delimiter, len(steps)))
        self.steps = tuple(steps)
        self._delims = tuple((s.delimiter, s.pad) for s in steps)
        appended = {s.name for s in steps if s.kind == APPEND}
        top: list[tuple[int, str]] = []
        nested: list[tuple[int, Path]] = []
        parts: dict[str, list[tuple[int, int]]] = {}
        for i, step in enumerate(steps):
            if step.kind == NORMAL and step.name not in appended:
                path = parse(step.name)
                if len(path) == 1:
                    top.append((i, path[0]))
                else:
                    nested.append((i, path))
            elif step.kind in (NORMAL, APPEND):
                order = -1 if step.kind == NORMAL else step.ordinal
                parts.setdefault(step.name, []).append((order, i))
        self._top = tuple(top)
        self._nested = tuple(nested)
        self._joins = tuple((parse(name), tuple(i for _, i in sorted(found)))
                            for name, found in parts.items())
        keys = {s.name: i for i, s in enumerate(steps) if s.kind == INDIRECT_KEY}
        self._pairs = tuple((keys[s.name], i) for i, s in enumerate(steps)
                            if s.kind == INDIRECT_VALUE and s.name in keys)

    def _parse_field(self, spec: str, delimiter: str, position: int) -> _Step:
        pad = spec.endswith("->")
        if pad:
            spec = spec[:-2]
        if not spec:
            return _Step(SKIP, "", delimiter, pad, position)
        kind = NORMAL
        if spec[0] in "?*":
            kind, spec = INDIRECT_KEY, spec[1:]
        elif spec[0] == "&":
            kind, spec = INDIRECT_VALUE, spec[1:]
        elif spec[0] == "+":
            kind, spec = APPEND, spec[1:]
        ordinal = position
        m = _ORDINAL.match(spec)
        if m and kind == APPEND:
            spec, ordinal = m.group(1), int(m.group(2))
        if not spec and kind != INDIRECT_KEY:
            raise ConfigError(f"dissect pattern {self.pattern!r}: empty field name")
        if kind == NORMAL or kind == APPEND:
            try:
                path = parse(spec)
            except ConfigError as exc:
                raise ConfigError(f"dissect pattern {self.pattern!r}: {exc.message}") from None
            if path in _RESERVED:
                raise ConfigError(f"dissect pattern {self.pattern!r}: cannot store text in {spec}")
        if kind == INDIRECT_KEY and not spec:
            kind = SKIP
        return _Step(kind, spec, delimiter, pad, ordinal)

    def split(self, text: str) -> list[str] | None:
        """The text of each step, or None when a delimiter is missing."""
        prefix = self.prefix
        if prefix:
            if not text.startswith(prefix):
                return None
            pos = len(prefix)
        else:
            pos = 0
        out: list[str] = []
        find = text.find
        for delimiter, pad in self._delims:
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

    def apply(self, event: Event, text: str, separator: str) -> bool:
        values = self.split(text)
        if values is None:
            return False
        data = event.data
        for i, key in self._top:
            data[key] = values[i]
        for i, path in self._nested:
            event.set_path(path, values[i])
        for path, indexes in self._joins:
            event.set_path(path, separator.join([values[i] for i in indexes]))
        for key_index, value_index in self._pairs:
            key = values[key_index]
            if key and (key,) not in _RESERVED:
                data[key] = values[value_index]
        return True


def _convert(value: Any, kind: str) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return int(value) if kind == "int" else float(value)
    except ValueError:
        if kind == "int":
            try:
                return int(float(value))
            except (ValueError, OverflowError):
                pass
        return value


class DissectFilter(Filter):
    """Split source fields on literal delimiters into named fields."""

    Config = DissectConfig
    config: DissectConfig

    def __init__(self, config: DissectConfig, *, id: str, context: PluginContext | None = None) -> None:
        super().__init__(config, id=id, context=context)
        self._mappings: list[tuple[Path, Dissector]] = []
        for field, pattern in config.mapping.items():
            try:
                self._mappings.append((parse(field), Dissector(pattern)))
            except ConfigError as exc:
                raise exc.located(path=f"mapping.{field}") from None
        self._conversions = [(parse(f), kind) for f, kind in config.convert_datatype.items()]
        self._separator = config.append_separator
        self._failure_tags = tuple(config.tag_on_failure)
        self._actions = CommonActions(config)

    def process(self, events: list[Event]) -> list[Event]:
        done: list[Event] = []
        separator = self._separator
        for event in events:
            ok = True
            for path, dissector in self._mappings:
                text = event.data.get(path[0]) if len(path) == 1 else event.get_path(path)
                if not isinstance(text, str) or not dissector.apply(event, text, separator):
                    ok = False
            if ok:
                for path, kind in self._conversions:
                    value = event.get_path(path)
                    if value is not None:
                        event.set_path(path, _convert(value, kind))
                done.append(event)
            elif self._failure_tags:
                event.add_tag(*self._failure_tags)
        if self._actions.active:
            self._actions.apply(done)
        return events
