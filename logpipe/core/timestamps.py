"""Timestamp helpers shared by codecs and filters."""
from __future__ import annotations

from datetime import datetime, timezone


def parse_iso(text: str) -> datetime | None:
    """An RFC 3339 / ISO 8601 timestamp as aware UTC, or None when it is not one."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)
