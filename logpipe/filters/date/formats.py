"""Date formats of the date filter, each compiled once into a parse function.

A parse function takes the field's value and returns an aware UTC datetime or
None. Formats:

- ``ISO8601``: ``datetime.fromisoformat`` (fast, C), with a fallback for the
  spellings it rejects (``+0000`` style offsets, a comma before the fraction,
  more than six fraction digits).
- ``UNIX`` (seconds, fractions allowed), ``UNIX_MS`` (milliseconds) and
  ``TAI64N`` (``@4000000052f8...``, as written by daemontools' multilog).
- Anything else is a Joda-Time pattern (``dd/MMM/yyyy:HH:mm:ss Z``,
  ``MMM  d HH:mm:ss``, ``yyyy-MM-dd HH:mm:ss,SSS``...), compiled into a regular
  expression with one group per field plus integer conversions. Month and day
  names are English (the only supported ``locale``). A run of spaces in the
  pattern matches any run of spaces, so ``MMM dd`` and ``MMM  d`` both read
  syslog's space-padded days. Without a year in the pattern the year that puts
  the date nearest to now (and not more than a month ahead) is used.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Any, Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from logpipe.errors import ConfigError

UTC = timezone.utc
Parser = Callable[[Any, tzinfo, datetime | None], "datetime | None"]

_MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december"]
_MONTH_NUMBER = {**{m: i for i, m in enumerate(_MONTHS, 1)},
                 **{m[:3]: i for i, m in enumerate(_MONTHS, 1)}, "sept": 9}
_DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_ZONE_ABBREVIATIONS = {"UTC": 0, "GMT": 0, "Z": 0, "UT": 0, "EST": -300, "EDT": -240,
                       "CST": -360, "CDT": -300, "MST": -420, "MDT": -360, "PST": -480,
                       "PDT": -420, "CET": 60, "CEST": 120}
_TAI64_EPOCH = 2 ** 62 + 10          # TAI64 label of 1970-01-01 00:00:10 TAI = UTC epoch


def zone(name: str) -> tzinfo:
    """A ``timezone`` setting: an IANA name (Europe/Berlin), UTC, or an offset (+02:00)."""
    text = name.strip()
    if text.upper() in ("UTC", "Z", "GMT"):
        return UTC
    m = re.fullmatch(r"([+-])(\d{1,2}):?(\d{2})?", text)
    if m:
        minutes = int(m.group(2)) * 60 + int(m.group(3) or 0)
        return timezone(timedelta(minutes=minutes if m.group(1) == "+" else -minutes))
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"unknown timezone {name!r}") from None


# --- fixed formats ------------------------------------------------------------------------
_ISO_FIX = re.compile(r"^(.*?[T ]\d{1,2}(?::?\d{2}(?::?\d{2})?)?)(?:[.,](\d+))?"
                      r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?$")


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
        parsed = parsed.replace(tzinfo=tz)
    return parsed.astimezone(UTC)


def _iso_fallback(value: str) -> datetime | None:
    m = _ISO_FIX.match(value.strip())
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


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _from_epoch(seconds: float) -> datetime | None:
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _unix(value: Any, tz: tzinfo, now: datetime | None) -> datetime | None:
    seconds = _number(value)
    return None if seconds is None or seconds != seconds else _from_epoch(seconds)


def _unix_ms(value: Any, tz: tzinfo, now: datetime | None) -> datetime | None:
    millis = _number(value)
    return None if millis is None or millis != millis else _from_epoch(millis / 1000.0)


_TAI64N = re.compile(r"@?([0-9a-fA-F]{16})([0-9a-fA-F]{8})")


def _tai64n(value: Any, tz: tzinfo, now: datetime | None) -> datetime | None:
    if not isinstance(value, str):
        return None
    m = _TAI64N.fullmatch(value.strip())
    if not m:
        return None
    seconds = int(m.group(1), 16) - _TAI64_EPOCH
    nanos = int(m.group(2), 16)
    base = _from_epoch(seconds)
    return None if base is None else base + timedelta(microseconds=nanos // 1000)


FIXED: dict[str, Parser] = {"ISO8601": _iso8601, "UNIX": _unix, "UNIX_MS": _unix_ms,
                            "TAI64N": _tai64n}


# --- Joda patterns ------------------------------------------------------------------------
_NUMERIC = set("yYxMdHhkKmsSDw")


def _tokens(pattern: str) -> list[tuple[str, int] | str]:
    """Split a Joda pattern into (letter, count) fields and literal strings."""
    out: list[tuple[str, int] | str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "'":
            j = pattern.find("'", i + 1)
            if j < 0:
                raise ConfigError(f"date pattern {pattern!r}: unterminated quote")
            out.append("'" if j == i + 1 else pattern[i + 1:j])
            i = j + 1
        elif c.isascii() and c.isalpha():
            j = i
            while j < n and pattern[j] == c:
                j += 1
            out.append((c, j - i))
            i = j
        else:
            out.append(c)
            i += 1
    return out


def _number_field(name: str, count: int, fixed: bool, widest: int) -> str:
    if fixed:
        return f"(?P<{name}>\\d{{{count}}})"
    return f"(?P<{name}>\\d{{1,{max(widest, count)}}})"


@lru_cache(maxsize=256)
def compile_joda(pattern: str) -> Parser:
    tokens = _tokens(pattern)
    parts: list[str] = []
    fields: set[str] = set()
    for idx, tok in enumerate(tokens):
        if isinstance(tok, str):
            if tok.isspace():
                if not parts or parts[-1] != r"\s+":
                    parts.append(r"\s+")
            else:
                parts.append(re.escape(tok))
            continue
        letter, count = tok
        nxt = tokens[idx + 1] if idx + 1 < len(tokens) else None
        fixed = count >= 2 and isinstance(nxt, tuple) and nxt[0] in _NUMERIC
        if letter in "yYx":
            if count == 2:
                parts.append(r"(?P<yy>\d{2})")
                fields.add("yy")
            else:
                parts.append(r"(?P<year>[+-]?\d{4})" if count == 4 or fixed
                             else r"(?P<year>[+-]?\d{1,9})")
                fields.add("year")
        elif letter == "M":
            if count >= 3:
                parts.append(r"(?P<monthname>[A-Za-z]{3,9}\.?)")
                fields.add("monthname")
            else:
                parts.append(_number_field("month", count, fixed, 2))
                fields.add("month")
        elif letter == "d":
            parts.append(_number_field("day", count, fixed, 2))
            fields.add("day")
        elif letter in "Hk":
            parts.append(_number_field("hour", count, fixed, 2))
            fields.add("hour")
        elif letter in "hK":
            parts.append(_number_field("hour12", count, fixed, 2))
            fields.add("hour12")
        elif letter == "m":
            parts.append(_number_field("minute", count, fixed, 2))
            fields.add("minute")
        elif letter == "s":
            parts.append(_number_field("second", count, fixed, 2))
            fields.add("second")
        elif letter == "S":
            parts.append(f"(?P<fraction>\\d{{{count}}})" if fixed else f"(?P<fraction>\\d{{1,{max(count, 9)}}})")
            fields.add("fraction")
        elif letter == "a":
            parts.append(r"(?P<ampm>[AaPp]\.?[Mm]\.?)")
            fields.add("ampm")
        elif letter == "E":
            parts.append(r"[A-Za-z]{3,9}\.?")
        elif letter == "Z":
            if count >= 3:
                parts.append(r"(?P<zoneid>[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+)*)")
                fields.add("zoneid")
            else:
                parts.append(r"(?P<offset>Z|[+-]\d{2}:?\d{2})")
                fields.add("offset")
        elif letter in "zX":
            parts.append(r"(?P<zoneabbr>Z|[A-Z]{1,5}|[+-]\d{2}(?::?\d{2})?)")
            fields.add("zoneabbr")
        elif letter == "G":
            parts.append(r"(?:AD|BC)")
        else:
            raise ConfigError(f"date pattern {pattern!r}: unsupported field letter {letter!r}")
    try:
        rx = re.compile("".join(parts) + r"\Z", re.IGNORECASE)
    except re.error as exc:
        raise ConfigError(f"date pattern {pattern!r}: {exc}") from None
    return _make_parser(rx, fields)


def _make_parser(rx: re.Pattern[str], fields: set[str]) -> Parser:
    has_year = "year" in fields or "yy" in fields
    match = rx.match

    def parse(value: Any, tz: tzinfo, now: datetime | None) -> datetime | None:
        if not isinstance(value, str):
            return None
        m = match(value.strip())
        if m is None:
            return None
        g = m.groupdict()
        try:
            if "monthname" in fields:
                month = _MONTH_NUMBER.get(g["monthname"].rstrip(".").lower())
                if month is None:
                    return None
            else:
                month = int(g["month"]) if "month" in fields else 1
            day = int(g["day"]) if "day" in fields else 1
            if "hour12" in fields:
                hour = int(g["hour12"]) % 12
                if "ampm" in fields and g["ampm"][0] in "pP":
                    hour += 12
            else:
                hour = int(g["hour"]) if "hour" in fields else 0
            minute = int(g["minute"]) if "minute" in fields else 0
            second = int(g["second"]) if "second" in fields else 0
            micro = int((g["fraction"] + "00000")[:6]) if "fraction" in fields else 0
            local: datetime | None
            zone_info = _zone_of(g, fields, tz)
            if zone_info is None:
                return None
            if has_year:
                if "year" in fields:
                    year = int(g["year"])
                else:
                    yy = int(g["yy"])
                    year = 2000 + yy if yy < 50 else 1900 + yy
                local = datetime(year, month, day, hour, minute, second, micro, tzinfo=zone_info)
            else:
                local = _guess_year(month, day, hour, minute, second, micro, zone_info, now)
                if local is None:
                    return None
            return local.astimezone(UTC)
        except (ValueError, OverflowError):
            return None

    return parse


@lru_cache(maxsize=256)
def _fixed_offset(text: str) -> tzinfo:
    """``+0000``, ``-05:00``, ``Z``: a log carries few distinct offsets, so each zone
    object is made once rather than per line."""
    if text in ("Z", "z"):
        return UTC
    digits = text[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + int(digits[2:4])
    return timezone(timedelta(minutes=minutes if text[0] == "+" else -minutes))


def _zone_of(g: dict[str, Any], fields: set[str], default: tzinfo) -> tzinfo | None:
    if "offset" in fields:
        return _fixed_offset(g["offset"])
    if "zoneid" in fields:
        try:
            return zone(g["zoneid"])
        except ConfigError:
            return None
    if "zoneabbr" in fields:
        text = g["zoneabbr"].upper()
        if text in _ZONE_ABBREVIATIONS:
            return timezone(timedelta(minutes=_ZONE_ABBREVIATIONS[text]))
        try:
            return zone(text)
        except ConfigError:
            return None
    return default


def _guess_year(month: int, day: int, hour: int, minute: int, second: int, micro: int,
                tz: tzinfo, now: datetime | None) -> datetime | None:
    """The year nearest to now, never more than about a month in the future."""
    now = now or datetime.now(UTC)
    limit = now + timedelta(days=31)
    best: datetime | None = None
    for year in (now.year - 1, now.year, now.year + 1):
        try:
            candidate = datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
        except ValueError:        # 29 February outside a leap year
            continue
        if candidate > limit:
            continue
        if best is None or abs(candidate - now) < abs(best - now):
            best = candidate
    return best


def parser_for(fmt: str, locale: str | None = None) -> Parser:
    """The parse function of one format; raises ConfigError for a bad pattern."""
    fixed = FIXED.get(fmt)
    if fixed is not None:
        return fixed
    return compile_joda(fmt)
