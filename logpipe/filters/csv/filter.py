"""The csv filter, on Python's ``csv`` module (strict quoting).

An empty value is null (skipped with ``skip_empty_columns``); values are not
trimmed. A line whose quotes do not balance gets ``tag_on_failure``; an empty
line too, or ``_csvskippedemptyfield`` with ``skip_empty_rows`` (as in Logstash,
the event is kept). Conversions follow Ruby's CSV converters: a value that does
not convert stays as it was (``boolean`` takes only true/false, and otherwise
leaves the value trimmed and lower-cased).
"""
from __future__ import annotations

import csv
from datetime import timezone
from typing import Any, Callable

from logpipe.core.event import Event
from logpipe.core.fieldref import parse
from logpipe.core.plugin import Filter, PluginContext
from logpipe.filters.common import CommonActions
from logpipe.filters.csv.config import CsvConfig
from logpipe.filters.date.formats import parser_for

_MISSING: Any = object()
EMPTY_ROW_TAG = "_csvskippedemptyfield"
_iso = parser_for("ISO8601")


def _boolean(text: str) -> Any:
    low = text.strip().lower()
    return True if low == "true" else False if low == "false" else low


def _date(text: str) -> Any:
    parsed = _iso(text.strip(), timezone.utc, None)
    return _MISSING if parsed is None else parsed


def _integer(text: str) -> Any:
    try:
        return int(text.strip())
    except ValueError:
        pass
    try:
        return int(text.strip(), 0)     # 0x1A, 0b101, 0o17 as Ruby's Integer() reads them
    except ValueError:
        return _MISSING


def _float(text: str) -> Any:
    try:
        return float(text.strip())
    except ValueError:
        return _MISSING


_CONVERTERS: dict[str, Callable[[str], Any]] = {
    "integer": _integer, "float": _float, "date": _date, "date_time": _date,
    "boolean": _boolean}


class CsvFilter(Filter):
    """Parses ``source`` into one field per column."""

    Config = CsvConfig
    runs_on_event_loop = True
    config: CsvConfig

    def __init__(self, config: CsvConfig, *, id: str,
                 context: PluginContext | None = None) -> None:
        super().__init__(config, id=id, context=context)
        self._source = parse(config.source)
        self._target = parse(config.target) if config.target else ()
        self._columns: list[str] = list(config.columns)
        self._detected = not config.autodetect_column_names
        self._convert = {k: _CONVERTERS[v] for k, v in config.convert.items()}
        self._actions = CommonActions(config)

    def _parse(self, line: str) -> list[str | None]:
        reader = csv.reader([line], delimiter=self.config.separator,
                            quotechar=self.config.quote_char, strict=True)
        row = next(reader, [])
        return [v if v != "" else None for v in row]

    def process(self, events: list[Event]) -> list[Event]:
        out: list[Event] = []
        done: list[Event] = []
        for event in events:
            line = event.get_path(self._source)
            if not isinstance(line, str):
                out.append(event)
                continue
            line = line.rstrip("\r\n")
            out.append(event)
            if not line:
                event.add_tag(EMPTY_ROW_TAG if self.config.skip_empty_rows
                              else self.config.tag_on_failure[0])
                continue
            try:
                values = self._parse(line)
            except csv.Error as exc:
                self.log.debug("csv parse failure: %s", exc)
                event.add_tag(*self.config.tag_on_failure)
                continue
            if not self._detected:
                self._columns = [v or f"column{i + 1}" for i, v in enumerate(values)]
                self._detected = True
                out.pop()    # the header line itself is no event
                continue
            if self.config.skip_header and [v or "" for v in values] == self._columns:
                out.pop()
                continue
            self._write(event, values)
            done.append(event)
        self._actions.apply(done)
        return out

    def _write(self, event: Event, values: list[str | None]) -> None:
        columns = self._columns
        for i, value in enumerate(values):
            if i < len(columns):
                name = columns[i]
            elif self.config.autogenerate_column_names:
                name = f"column{i + 1}"
            else:
                continue
            if value is None and self.config.skip_empty_columns:
                continue
            result: Any = value
            convert = self._convert.get(name)
            if convert is not None and value is not None:
                converted = convert(value)
                if converted is not _MISSING:
                    result = converted
            # "[a][b]" is a field reference; any other name is one key, dots and all
            key = parse(name) if name.startswith("[") else (name,)
            event.set_path(self._target + key, result)
