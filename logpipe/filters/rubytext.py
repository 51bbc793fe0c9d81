"""How Logstash (JRuby) turns a field value into text.

Filters that hash or compare values as text (``fingerprint``) must build the very
string Logstash builds, or the same event gets a different fingerprint after a
migration. Ruby's rules differ from Python's: ``nil`` is empty text at the top
but ``nil`` inside a container, containers use ``inspect`` (``{"a"=>1}``,
``[1, "b"]``), floats always show a fraction (``1.0``, ``1.0e+16``), and
timestamps print in UTC with milliseconds. Objects and lists hashed by the
fingerprint filter take the pipe-joined form of :func:`canonical`.
"""
from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any


def _float(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    text = repr(value)   # Python and Ruby switch to exponents at the same points
    mantissa, e, exponent = text.partition("e")
    if "." not in mantissa:
        mantissa += ".0"
    return mantissa + e + exponent


def timestamp_text(value: datetime) -> str:
    """Logstash's spelling of a timestamp, in UTC: three fraction digits, six when the
    microseconds need them (``2024-05-01T12:00:00.000Z``, ``...00.123456Z``)."""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc)
    micros = value.microsecond
    fraction = f"{micros // 1000:03d}" if micros % 1000 == 0 else f"{micros:06d}"
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + fraction + "Z"


def _inspect_string(value: str) -> str:
    escaped = (value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
               .replace("\t", "\\t").replace("\r", "\\r").replace("#{", "\\#{"))
    return f'"{escaped}"'


def inspect(value: Any) -> str:
    """Ruby's ``inspect``: how a value reads inside a hash or an array."""
    if value is None:
        return "nil"
    if isinstance(value, str):
        return _inspect_string(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{inspect(k)}=>{inspect(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(inspect(v) for v in value) + "]"
    return to_s(value)


def to_s(value: Any) -> str:
    """Ruby's ``to_s`` (string interpolation) of an event value."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, datetime):
        return timestamp_text(value)
    if isinstance(value, (dict, list, tuple)):
        return inspect(value)
    return str(value)


def canonical(value: Any) -> Any:
    """The fingerprint filter's canonical form: an object becomes ``k|v|k|v`` with its
    keys sorted, a list its items joined by ``|`` (at every depth); other values stay."""
    if isinstance(value, dict):
        return "|".join(f"{to_s(canonical(k))}|{to_s(canonical(value[k]))}"
                        for k in sorted(value))
    if isinstance(value, list):
        return "|".join(to_s(canonical(v)) for v in value)
    return value


def deep_sorted(value: Any) -> Any:
    """Hashes with their keys sorted, at every depth (lists keep their order)."""
    if isinstance(value, dict):
        return {k: deep_sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [deep_sorted(v) for v in value]
    return value
