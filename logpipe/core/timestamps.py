"""Timestamp helpers shared by codecs and filters."""
from __future__ import annotations

from datetime import datetime, timezone

_utc = timezone.utc


def parse_iso(text: str) -> datetime | None:
    """An RFC 3339 / ISO 8601 timestamp as aware UTC, or None when it is not one.

    A ``Z`` (or ``+00:00``) timestamp, what shippers send, is UTC as parsed:
    ``astimezone`` would answer the same object after a costly offset check.
    """
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    zone = value.tzinfo
    if zone is _utc:
        return value
    if zone is None:
        return value.replace(tzinfo=_utc)
    return value.astimezone(_utc)
