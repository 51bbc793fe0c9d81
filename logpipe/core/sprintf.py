"""``%{[field]}`` templates, compiled once into a function of the event.

``%{+FORMAT}`` formats ``@timestamp`` with a Joda-style pattern (``%{+YYYY.MM.dd}``),
as index names in Logstash configurations do. A missing field stays as the literal
``%{...}`` text, which is what Logstash does and what makes such events easy to find.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Callable

import orjson

from logpipe.core.event import reader
from logpipe.core.fieldref import Path, parse

_TOKEN = re.compile(r"%\{([^}]+)\}")
_JODA = [("YYYY", "%Y"), ("yyyy", "%Y"), ("YY", "%y"), ("yy", "%y"), ("MMM", "%b"),
         ("MM", "%m"), ("dd", "%d"), ("HH", "%H"), ("mm", "%M"), ("ss", "%S"),
         ("SSS", "%f")]


def _joda_to_strftime(fmt: str) -> str:
    out = []
    i = 0
    while i < len(fmt):
        for joda, py in _JODA:
            if fmt.startswith(joda, i):
                out.append(py)
                i += len(joda)
                break
        else:
            out.append(fmt[i].replace("%", "%%"))
            i += 1
    return "".join(out)


def _stringify(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return orjson.dumps(value).decode()
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return value.isoformat().replace("+00:00", "Z")
    return str(value)


Render = Callable[[Any], str]


def _field_part(path: Path, literal: str) -> Render:
    read = reader(path)

    def field(event: Any) -> str:
        value = read(event)
        if value is None:
            return literal
        return value if type(value) is str else _stringify(value)
    return field


def _time_part(fmt: str) -> Render:
    return lambda event: event.timestamp.strftime(fmt)


@lru_cache(maxsize=1024)
def compile_template(template: str) -> Callable[[Any], str]:
    """Compile a template; the result takes an Event and returns the text.

    Each ``%{...}`` becomes a small function (fields read through
    :func:`logpipe.core.event.reader`); a template that is a single reference (the
    usual ``%{[url][path]}``) is that function itself, with no joining.
    """
    parts: list[str | Render] = []
    pos = 0
    for m in _TOKEN.finditer(template):
        if m.start() > pos:
            parts.append(template[pos:m.start()])
        body = m.group(1)
        if body.startswith("+"):
            parts.append(_time_part(_joda_to_strftime(body[1:])))
        else:
            parts.append(_field_part(parse(body), m.group(0)))
        pos = m.end()
    if pos < len(template):
        parts.append(template[pos:])
    if not any(callable(p) for p in parts):
        const = template
        return lambda _event: const
    if len(parts) == 1:
        only = parts[0]
        assert callable(only)
        return only
    pieces = tuple(parts)

    def render(event: Any) -> str:
        return "".join([p if type(p) is str else p(event) for p in pieces])  # type: ignore[operator]

    return render


def is_template(text: str) -> bool:
    return "%{" in text
