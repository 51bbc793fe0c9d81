"""Time zones: the ``timezone`` setting, zone fields in the text, and local times
that do not exist.

A wall-clock time inside a daylight-saving gap (``02:30`` on the night clocks
jump from 02:00 to 03:00) names no instant; Logstash (Joda-Time) refuses it and
the event gets ``_dateparsefailure``, so :func:`localize` returns None for it.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from logpipe.errors import ConfigError

UTC = timezone.utc
_OFFSET = re.compile(r"([+-])(\d{1,2}):?(\d{2})?")


@lru_cache(maxsize=512)
def zone(name: str) -> tzinfo:
    """A ``timezone`` setting: an IANA name (Europe/Berlin), UTC, or an offset (+02:00)."""
    text = name.strip()
    if text.upper() in ("UTC", "Z", "GMT", "UT"):
        return UTC
    m = _OFFSET.fullmatch(text)
    if m:
        minutes = int(m.group(2)) * 60 + int(m.group(3) or 0)
        return timezone(timedelta(minutes=minutes if m.group(1) == "+" else -minutes))
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ConfigError(f"unknown timezone {name!r}") from None


@lru_cache(maxsize=256)
def fixed_offset(text: str) -> tzinfo:
    """``+0000``, ``-05:00``, ``Z``: a log carries few distinct offsets, so each zone
    object is made once rather than per line."""
    if text in ("Z", "z"):
        return UTC
    digits = text[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + int(digits[2:4] or 0)
    return timezone(timedelta(minutes=minutes if text[0] == "+" else -minutes))


def localize(naive: datetime, tz: tzinfo) -> datetime | None:
    """``naive`` read as wall-clock time in ``tz``; None inside a daylight-saving gap.

    In an overlap (the hour repeated when clocks go back) the earlier instant
    is taken, as Joda-Time takes it.
    """
    local = naive.replace(tzinfo=tz)
    if isinstance(tz, ZoneInfo):
        back = local.astimezone(UTC).astimezone(tz)
        if back.replace(tzinfo=None) != naive:
            return None
    return local
