"""Joda-Time patterns (``dd/MMM/yyyy:HH:mm:ss Z``, ``MMM  d HH:mm:ss``,
``yyyy-MM-dd HH:mm:ss,SSS``...), each compiled once into a regular expression
with one group per field.

Letters are Joda's: ``y``/``Y``/``x`` year (``yy`` two digits), ``M`` month
(``MMM`` and longer: a name in the ``locale``), ``d`` day, ``D`` day of year,
``H``/``k`` hour of day, ``h``/``K`` hour of half day with ``a`` (AM/PM in the
locale), ``m``, ``s``, ``S`` fraction (up to nine digits, kept to the
microsecond), ``E`` day name and ``e`` day number (read, not checked), ``Z``
offset (``-0800``, ``-08:00``; ``ZZZ`` a zone id), ``z`` a zone abbreviation,
``G`` era, ``C`` century and ``w`` week (read, not used); text in single quotes
is literal. Any other letter is refused when the filter loads, as Joda refuses
it.

Two deliberate leniencies: a run of spaces in the pattern matches any run of
spaces, so ``MMM dd`` and ``MMM  d`` both read syslog's space-padded days; and
without a year in the pattern, the year that puts the date nearest to now (and
not more than a month ahead) is used, where Logstash takes the current year
except for December dates in January and January dates in December.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Any, Callable
from zoneinfo import ZoneInfo

from logpipe.errors import ConfigError
from logpipe.filters.date.names import Names, alternation, names_for
from logpipe.filters.date.zones import UTC, fixed_offset, localize, zone

Parser = Callable[[Any, tzinfo, "datetime | None"], "datetime | None"]

_NUMERIC = set("yYxMdHhkKmsSDwCe")
#: A month or day name: letters in any script, maybe an abbreviation's dot. The name
#: itself is then looked up in the locale's table (one dict lookup is cheaper than a
#: regex alternation of every name).
_WORD = r"[^\W\d_]+\.?"
_WORD_RX = re.compile(_WORD)
_ZONE_ABBREVIATIONS = {"UTC": 0, "GMT": 0, "Z": 0, "UT": 0, "EST": -300, "EDT": -240,
                       "CST": -360, "CDT": -300, "MST": -420, "MDT": -360, "PST": -480,
                       "PDT": -420, "CET": 60, "CEST": 120}


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


def _names_regex(table: dict[str, int]) -> str:
    """Names that are all words are matched as a word (then looked up); others, such
    as Japanese ``1月``, by an alternation of the names themselves."""
    if all(_WORD_RX.fullmatch(name) for name in table):
        return _WORD
    return alternation(table)


def _number(name: str, count: int, fixed: bool, widest: int) -> str:
    if fixed:
        return f"(?P<{name}>\\d{{{count}}})"
    return f"(?P<{name}>\\d{{1,{max(widest, count)}}})"


def _field(letter: str, count: int, fixed: bool, names: Names, pattern: str) -> tuple[str, str | None]:
    """The regex of one field and the group it fills (None: read and ignored)."""
    if letter in "yYx":
        if count == 2:
            return r"(?P<yy>\d{2})", "yy"
        return (r"(?P<year>[+-]?\d{4})" if count == 4 or fixed else r"(?P<year>[+-]?\d{1,9})"), "year"
    if letter == "M":
        if count >= 3:
            return f"(?P<monthname>{_names_regex(names.months)})", "monthname"
        return _number("month", count, fixed, 2), "month"
    simple = {"d": ("day", 2), "D": ("doy", 3), "H": ("hour", 2), "k": ("hour", 2),
              "h": ("hour12", 2), "K": ("hour12", 2), "m": ("minute", 2), "s": ("second", 2)}
    if letter in simple:
        group, widest = simple[letter]
        return _number(group, count, fixed, widest), group
    if letter == "S":
        return ((f"(?P<fraction>\\d{{{count}}})" if fixed
                 else f"(?P<fraction>\\d{{1,{max(count, 9)}}})"), "fraction")
    if letter == "a":
        return f"(?P<ampm>{alternation(names.periods)})", "ampm"
    if letter == "E":
        return f"(?:{_names_regex(names.days)})", None
    if letter in "ewC":
        return (f"\\d{{{count}}}" if fixed else r"\d{1,2}"), None
    if letter == "Z":
        if count >= 3:
            return r"(?P<zoneid>[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+)*)", "zoneid"
        return r"(?P<offset>Z|[+-]\d{2}(?::?\d{2})?)", "offset"
    if letter == "z":
        return r"(?P<zoneabbr>Z|[A-Z]{1,5}|[+-]\d{2}(?::?\d{2})?)", "zoneabbr"
    if letter == "G":
        return r"(?:AD|BC)", None
    raise ConfigError(f"date pattern {pattern!r}: unsupported field letter {letter!r}")


@lru_cache(maxsize=256)
def compile_joda(pattern: str, locale: str | None = None) -> Parser:
    """The parse function of one pattern in one locale; raises ConfigError for a bad one."""
    if not pattern:
        raise ConfigError("date pattern is empty")
    names = names_for(locale)
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
        regex, group = _field(letter, count, fixed, names, pattern)
        if group is not None:
            if group in fields:
                regex = regex.replace(f"(?P<{group}>", "(?:")
            fields.add(group)
        parts.append(regex)
    try:
        rx = re.compile("".join(parts) + r"\Z", re.IGNORECASE)
    except re.error as exc:
        raise ConfigError(f"date pattern {pattern!r}: {exc}") from None
    return _make_parser(rx, frozenset(fields), names)


def _make_parser(rx: re.Pattern[str], fields: frozenset[str], names: Names) -> Parser:
    # What the pattern holds is known here, once: the function below only tests
    # local booleans, and builds the datetime with its zone directly unless the zone
    # has daylight-saving rules (then :func:`localize` checks for gaps).
    match = rx.match
    has_year, has_yy = "year" in fields, "yy" in fields
    has_monthname, has_month = "monthname" in fields, "month" in fields
    has_day, has_doy = "day" in fields, "doy" in fields and not ("month" in fields or "monthname" in fields)
    has_hour12, has_ampm, has_hour = "hour12" in fields, "ampm" in fields, "hour" in fields
    has_minute, has_second, has_fraction = "minute" in fields, "second" in fields, "fraction" in fields
    zone_fields = bool(fields & {"offset", "zoneid", "zoneabbr"})
    month_of, periods = names.month, names.periods

    def parse(value: Any, tz: tzinfo, now: datetime | None) -> datetime | None:
        if type(value) is not str:
            if not isinstance(value, str):
                return None
        m = match(value.strip())
        if m is None:
            return None
        g = m.groupdict()
        try:
            if has_monthname:
                month = month_of(g["monthname"])
                if month is None:
                    return None
            else:
                month = int(g["month"]) if has_month else 1
            day = int(g["day"]) if has_day else 1
            if has_hour12:
                hour = int(g["hour12"]) % 12
                if has_ampm:
                    hour += periods.get(g["ampm"].lower(), 0)
            else:
                hour = int(g["hour"]) % 24 if has_hour else 0
            minute = int(g["minute"]) if has_minute else 0
            second = int(g["second"]) if has_second else 0
            micro = int((g["fraction"] + "00000")[:6]) if has_fraction else 0
            zone_info = _zone_of(g, fields, tz) if zone_fields else tz
            if zone_info is None:
                return None
            if has_year or has_yy:
                if has_year:
                    year = int(g["year"])
                else:
                    yy = int(g["yy"])
                    year = 2000 + yy if yy < 50 else 1900 + yy
                if has_doy:
                    start = date(year, 1, 1) + timedelta(days=int(g["doy"]) - 1)
                    if start.year != year:
                        return None
                    month, day = start.month, start.day
                if type(zone_info) is ZoneInfo:
                    local = localize(datetime(year, month, day, hour, minute, second, micro), zone_info)
                    if local is None:
                        return None
                else:
                    local = datetime(year, month, day, hour, minute, second, micro, zone_info)
            else:
                local = _guess_year(month, day, hour, minute, second, micro, zone_info, now)
                if local is None:
                    return None
            return local if zone_info is UTC else local.astimezone(UTC)
        except (ValueError, OverflowError):
            return None

    return parse


def _zone_of(g: dict[str, Any], fields: frozenset[str], default: tzinfo) -> tzinfo | None:
    if "offset" in fields:
        return fixed_offset(g["offset"])
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
    """The year nearest to now, never more than about a month in the future.

    The year is chosen on the wall clock of ``tz``; a time that then falls in a
    daylight-saving gap fails rather than moving to another year.
    """
    now = now or datetime.now(UTC)
    wall_now = _wall_clock(now, tz)
    limit = wall_now + timedelta(days=31)
    best: datetime | None = None
    for year in (now.year - 1, now.year, now.year + 1):
        try:
            candidate = datetime(year, month, day, hour, minute, second, micro)
        except ValueError:        # 29 February outside a leap year
            continue
        if candidate > limit:
            continue
        if best is None or abs(candidate - wall_now) < abs(best - wall_now):
            best = candidate
    return None if best is None else localize(best, tz)


@lru_cache(maxsize=64)
def _wall_clock(now: datetime, tz: tzinfo) -> datetime:
    """``now`` on the clocks of ``tz`` (the filter passes one ``now`` per batch)."""
    return now.astimezone(tz).replace(tzinfo=None)
