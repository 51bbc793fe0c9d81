"""parse_iso: RFC 3339 / ISO 8601 text to aware UTC datetimes (logpipe.core.timestamps)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given, strategies as st

from logpipe.core.timestamps import parse_iso


def _general(text: str) -> datetime | None:
    """The conversion without the UTC shortcut: every aware value through astimezone."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


_zones = st.one_of(st.just("Z"), st.just("+00:00"), st.just("-00:00"), st.just(""),
                   st.integers(-14 * 60, 14 * 60).map(
                       lambda m: f"{'+' if m >= 0 else '-'}{abs(m) // 60:02d}:{abs(m) % 60:02d}"))


@given(st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2200, 1, 1)), _zones,
       st.sampled_from(["auto", "seconds", "milliseconds", "microseconds"]))
def test_the_same_instant_and_zone_as_the_general_conversion(when: datetime, zone: str,
                                                             spec: str) -> None:
    text = when.isoformat(timespec=spec) + zone
    got, want = parse_iso(text), _general(text)
    assert got == want
    assert got is not None and want is not None
    assert got.tzinfo is timezone.utc and want.tzinfo is timezone.utc
    assert got.isoformat() == want.isoformat()


def test_zulu_and_offsets_are_utc() -> None:
    assert parse_iso("2025-06-15T11:59:30.709Z") == datetime(2025, 6, 15, 11, 59, 30, 709000,
                                                              tzinfo=timezone.utc)
    shifted = parse_iso("2025-06-15T13:59:30+02:00")
    assert shifted is not None and shifted.tzinfo is timezone.utc
    assert shifted == datetime(2025, 6, 15, 11, 59, 30, tzinfo=timezone.utc)
    naive = parse_iso("2025-06-15T11:59:30")
    assert naive is not None and naive.tzinfo is timezone.utc
    assert naive - datetime(2025, 6, 15, 11, 59, 30, tzinfo=timezone.utc) == timedelta(0)


def test_text_that_is_not_a_timestamp_is_none() -> None:
    assert parse_iso("yesterday") is None
    assert parse_iso("") is None
