"""Time zones named in settings: IANA names (``Europe/Moscow``) or offsets (``+03:00``)."""
from __future__ import annotations

from datetime import timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone_of(name: str) -> tzinfo:
    """The zone for a name or ``±HH:MM``; ValueError for anything else."""
    if name[:1] in "+-" and len(name) == 6 and name[3] == ":" and name[1:3].isdigit() and name[4:].isdigit():
        sign = 1 if name[0] == "+" else -1
        return timezone(sign * timedelta(hours=int(name[1:3]), minutes=int(name[4:6])))
    if name.upper() in ("UTC", "Z"):
        return timezone.utc
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None
