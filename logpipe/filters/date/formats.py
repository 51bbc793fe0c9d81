"""The named date formats, each a parse function built once.

A parse function takes the field's value, the zone for times that carry no
offset and the current time, and returns an aware UTC datetime or None. The
values each format accepts are Logstash's:

- ``ISO8601``: ``2001-12-07T23:54:54.123Z``, offsets as ``Z``, ``+01``,
  ``+0100`` or ``+01:00``, a comma or a point before the fraction, a space
  instead of the ``T``, a bare date (``2001-12-07``, ``2001-12``, ``2001``).
  ``datetime.fromisoformat`` (C, fast) reads nearly all of them; a fallback
  reads the rest.
- ``UNIX``: seconds, an integer or a decimal text or number, at most
  2147483647 (Logstash refuses later times: ``UNIX, UNIX_MS`` relies on that to
  tell milliseconds from seconds).
- ``UNIX_MS``: whole milliseconds (a decimal number is truncated).
- ``TAI64N``: ``@4000000050d506482dbdf024`` (the ``@`` is optional), as
  written by daemontools' multilog.

Anything else is a Joda-Time pattern (:mod:`logpipe.filters.date.joda`).
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any, Callable

from logpipe.filters.date.joda import compile_joda
from logpipe.filters.date.zones import UTC, localize

Parser = Callable[[Any, tzinfo, "datetime | None"], "datetime | None"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_EPOCH_SECONDS = 2 ** 31 - 1
_TAI64_LABEL_MASK = 2 ** 62 - 1


def from_epoch_micros(micros: int) -> datetime | None:
    try:
        return _EPOCH + timedelta(microseconds=micros)
    except OverflowError:
        return None


# --- ISO8601 ------------------------------------------------------------------------------
_ISO_FIX = re.compile(r"(.*?[T ]\d{1,2}(?::?\d{2}(?::?\d{2})?)?)(?:[.,](\d+))?"
                      r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?")
_ISO_PARTIAL_DATE = re.compile(r"([+-]?\d{4})(?:-(\d{2}))?")


def _iso8601(value: Any, tz: tzinfo, now: datetime | None) -> datetime | None:
    if not isinstance(value, str):
        return None
    parsed: datetime | None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = _iso_fallback(value)
        if parsed is None:
            return None
    if parsed.tzinfo is None:
        parsed = localize(parsed, tz)
        if parsed is None:
            return None
    return parsed.astimezone(UTC)


def _iso_fallback(value: str) -> datetime | None:
    text = value.strip()
    m = _ISO_PARTIAL_DATE.fullmatch(text)
    if m:
        try:
            return datetime(int(m.group(1)), int(m.group(2) or 1), 1)
        except ValueError:
            return None
    m = _ISO_FIX.fullmatch(text)
    if not m:
        return None
    base, fraction, offset = m.groups()
    text = base + ("." + (fraction + "000000")[:6] if fraction else "")
    if offset:
        text += "+00:00" if offset == "Z" else (offset if ":" in offset or len(offset) == 3
                                                else offset[:3] + ":" + offset[3:])
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


# --- epoch numbers ------------------------------------------------------------------------
_LONG_TEXT = re.compile(r"[+-]?\d+")


def _unix(value: Any, tz: tzinfo, now: datetime | None) -> datetime | None:
    """Seconds since the epoch; the fraction is kept to the microsecond."""
    if type(value) is str:
        if not value.isascii():
            return None
        head, _, fraction = value.partition(".")
        if not head.isdigit() and not (head[:1] in "+-" and head[1:].isdigit()):
            return None
        if fraction and not fraction.isdigit():
            return None
        seconds = int(head)
        if seconds > MAX_EPOCH_SECONDS:
            return None
        if seconds >= 0:
            # A double holds seconds below 2**31 to well under half a microsecond,
            # so reading the (cut) text as a float lands on the exact microsecond.
            try:
                return datetime.fromtimestamp(float(f"{head}.{fraction[:6]}") if fraction
                                              else seconds, UTC)
            except (OverflowError, OSError, ValueError):
                return None
        micros = int(fraction[:6].ljust(6, "0")) if fraction else 0
        return from_epoch_micros(seconds * 1_000_000 + micros)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return None if value > MAX_EPOCH_SECONDS else from_epoch_micros(value * 1_000_000)
    if isinstance(value, float):
        if not -1e15 < value < MAX_EPOCH_SECONDS + 1 or int(value) > MAX_EPOCH_SECONDS:
            return None
        return from_epoch_micros(round(value * 1_000_000))
    if isinstance(value, Decimal):
        if not value.is_finite() or value.adjusted() > 15 or int(value) > MAX_EPOCH_SECONDS:
            return None
        return from_epoch_micros(int(value.scaleb(6)))
    return None


def _unix_ms(value: Any, tz: tzinfo, now: datetime | None) -> datetime | None:
    """Whole milliseconds since the epoch."""
    if isinstance(value, str):
        if not _LONG_TEXT.fullmatch(value):
            return None
        millis = int(value)
    elif isinstance(value, bool):
        return None
    elif isinstance(value, int):
        millis = value
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        millis = int(value)
    elif isinstance(value, Decimal):
        if not value.is_finite() or value.adjusted() > 18 or int(value) > MAX_EPOCH_SECONDS * 1000:
            return None
        millis = int(value)
    else:
        return None
    return from_epoch_micros(millis * 1000)


_TAI64N = re.compile(r"@?([0-7][0-9a-fA-F]{15})([0-9a-fA-F]{8})")


def _tai64n(value: Any, tz: tzinfo, now: datetime | None) -> datetime | None:
    """TAI64N label: 8 bytes of seconds (offset by 2**62 and 10 leap seconds), 4 of nanoseconds."""
    if not isinstance(value, str):
        return None
    m = _TAI64N.match(value)
    if not m:
        return None
    seconds = (int(m.group(1), 16) & _TAI64_LABEL_MASK) - 10
    nanos = int(m.group(2), 16)
    return from_epoch_micros(seconds * 1_000_000 + nanos // 1000)


FIXED: dict[str, Parser] = {"ISO8601": _iso8601, "UNIX": _unix, "UNIX_MS": _unix_ms,
                            "TAI64N": _tai64n}


def parser_for(fmt: str, locale: str | None = None) -> Parser:
    """The parse function of one format; raises ConfigError for a bad pattern."""
    fixed = FIXED.get(fmt)
    if fixed is not None:
        return fixed
    return compile_joda(fmt, locale)
