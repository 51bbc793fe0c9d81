"""Reading one CEF record: the seven header fields and the extension's key=value pairs.

The rules, from the CEF specification and Logstash's reading of it:

- header fields are separated by ``|``; inside them ``\\|`` and ``\\\\`` stand for
  ``|`` and ``\\``;
- a syslog header may come before ``CEF:`` (``Jun 18 10:55:50 host CEF:0|...``): it
  is split off at the last space of the first field;
- extension values may hold unescaped spaces: a value runs until the next
  ``key=``; inside values ``\\=``, ``\\\\``, ``\\n`` and ``\\r`` are escapes;
- keys are words, optionally with dotted sub-keys and a ``[n]`` index, as
  ArcSight connectors write them.
"""
from __future__ import annotations

import re

_KEY = r"\w+(?:\.[^.=\s|\\\[\]]+)*(?:\[[0-9]+\])?"
_PAIR = re.compile(rf"({_KEY})=((?:\S|\s++(?!{_KEY}=))*)\s*")
_VALUE_ESCAPE = re.compile(r"\\([\\=nr])")
_HEADER_ESCAPE = re.compile(r"\\([\\|])")
#: One header field up to its unescaped pipe: escape pairs, a lone backslash, or any other character.
_FIELD = r"((?:\\[\\|]|\\(?![\\|])|[^\\|])*)\|"
_HEADER = re.compile(_FIELD * 7, re.DOTALL)
_ESCAPED = {"\\": "\\", "=": "=", "n": "\n", "r": "\r"}


class CefSyntaxError(ValueError):
    """The text is not a CEF record."""


def split_header(text: str) -> tuple[list[str], str]:
    """The header fields (escapes resolved) and the raw extension after the 7th ``|``."""
    m = _HEADER.match(text)
    if m is None:
        raise CefSyntaxError("a CEF header has 7 fields, each ended by an unescaped '|'")
    fields = [_HEADER_ESCAPE.sub(r"\1", f) if "\\" in f else f for f in m.groups()]
    return fields, text[m.end():]


def version_and_prefix(first: str) -> tuple[str, str | None]:
    """``Jun 18 host CEF:0`` -> ("0", "Jun 18 host"); ``CEF:1`` -> ("1", None)."""
    prefix: str | None = None
    if " " in first:
        prefix, _, first = first.rpartition(" ")
    if not first.startswith("CEF:"):
        raise CefSyntaxError("the record does not start with CEF:")
    return first[4:], prefix


def extension_pairs(ext: str) -> list[tuple[str, str]]:
    """The key=value pairs of an extension, values unescaped, in order."""
    ext = ext.strip()
    if "=" not in ext:
        return []
    out = []
    for m in _PAIR.finditer(ext):
        value = m.group(2)
        if "\\" in value:
            value = _VALUE_ESCAPE.sub(_unescape, value)
        out.append((m.group(1), value))
    return out


def _unescape(m: re.Match[str]) -> str:
    return _ESCAPED[m.group(1)]


def field_reference(key: str) -> str:
    """A key with an index (``values[0]``) as a field reference (``[values][0]``)."""
    if key.endswith("]") and "[" in key:
        base, _, rest = key.partition("[")
        return f"[{base}][{rest}"
    return key
