"""The date filter and its formats."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from logpipe.core.event import Event
from logpipe.errors import ConfigError
from logpipe.filters.date import DateFilter
from logpipe.filters.date.formats import compile_joda

UTC = timezone.utc


def date(value, *formats, **options) -> Event:
    f = DateFilter(DateFilter.Config(match=["ts", *formats], **options), id="d")
    [e] = f.process([Event({"ts": value})])
    return e


@pytest.mark.parametrize("value,fmt,expected", [
    ("10/Oct/2000:13:55:36 -0700", "dd/MMM/yyyy:HH:mm:ss Z", datetime(2000, 10, 10, 20, 55, 36)),
    ("2024-01-15 10:23:45,123", "yyyy-MM-dd HH:mm:ss,SSS", datetime(2024, 1, 15, 10, 23, 45, 123000)),
    ("2024-01-15T10:23:45.123456789Z", "ISO8601", datetime(2024, 1, 15, 10, 23, 45, 123456)),
    ("2024-01-15T10:23:45+0100", "ISO8601", datetime(2024, 1, 15, 9, 23, 45)),
    ("2024-01-15 10:23:45,5", "ISO8601", datetime(2024, 1, 15, 10, 23, 45, 500000)),
    ("1705314225", "UNIX", datetime(2024, 1, 15, 10, 23, 45)),
    (1705314225.25, "UNIX", datetime(2024, 1, 15, 10, 23, 45, 250000)),
    ("1705314225123", "UNIX_MS", datetime(2024, 1, 15, 10, 23, 45, 123000)),
    ("@4000000052f88ea32489532c", "TAI64N", datetime(2014, 2, 10, 8, 32, 25, 612979)),
    ("20240115103000", "yyyyMMddHHmmss", datetime(2024, 1, 15, 10, 30)),
    ("Wed Oct 11 14:32:52.123456 2000", "EEE MMM dd HH:mm:ss.SSSSSS yyyy",
     datetime(2000, 10, 11, 14, 32, 52, 123456)),
    ("05/03/24 3:07 PM", "dd/MM/yy h:mm a", datetime(2024, 3, 5, 15, 7)),
    ("2024-01-15T10:00:00.5+05:30", "yyyy-MM-dd'T'HH:mm:ss.SZZ", datetime(2024, 1, 15, 4, 30, 0, 500000)),
    ("2024-01-15 10:00:00 Europe/Berlin", "yyyy-MM-dd HH:mm:ss ZZZ", datetime(2024, 1, 15, 9)),
])
def test_formats(value, fmt, expected) -> None:
    e = date(value, fmt)
    assert e.get("@timestamp") == expected.replace(tzinfo=UTC) and "tags" not in e.data


def test_formats_are_tried_in_order_and_result_is_aware_utc() -> None:
    e = date("2024-01-15 10:00:00", "UNIX", "ISO8601")
    ts = e.get("@timestamp")
    assert ts == datetime(2024, 1, 15, 10, tzinfo=UTC) and ts.tzinfo is UTC


def test_timezone_applies_to_times_without_offset() -> None:
    e = date("2024-07-01 12:00:00", "yyyy-MM-dd HH:mm:ss", timezone="Europe/Berlin")
    assert e.get("@timestamp") == datetime(2024, 7, 1, 10, tzinfo=UTC)
    e = date("2024-07-01 12:00:00", "yyyy-MM-dd HH:mm:ss", timezone="-03:00")
    assert e.get("@timestamp") == datetime(2024, 7, 1, 15, tzinfo=UTC)


def test_timezone_from_a_field_template() -> None:
    f = DateFilter(DateFilter.Config(match=["ts", "yyyy-MM-dd HH:mm"], timezone="%{tz}"), id="d")
    [a, b] = f.process([Event({"ts": "2024-01-01 00:00", "tz": "Asia/Tokyo"}),
                        Event({"ts": "2024-01-01 00:00", "tz": "Nowhere/Land"})])
    assert a.get("@timestamp") == datetime(2023, 12, 31, 15, tzinfo=UTC)
    assert b.tags == ["_dateparsefailure"]


def test_target_and_failure_tags() -> None:
    e = date("2024-01-15T10:00:00Z", "ISO8601", target="[event][created]")
    assert e.get("[event][created]") == datetime(2024, 1, 15, 10, tzinfo=UTC)
    assert date("not a date", "ISO8601").tags == ["_dateparsefailure"]
    assert date("not a date", "ISO8601", tag_on_failure=["nodate"]).tags == ["nodate"]


def test_missing_field_is_not_a_failure() -> None:
    f = DateFilter(DateFilter.Config(match=["ts", "ISO8601"]), id="d")
    [e] = f.process([Event({"other": 1})])
    assert "tags" not in e.data


@pytest.mark.parametrize("fmt", ["MMM  d HH:mm:ss", "MMM dd HH:mm:ss"])
def test_syslog_dates_both_paddings(fmt: str) -> None:
    parse = compile_joda(fmt)
    now = datetime(2024, 6, 15, 12, tzinfo=UTC)
    assert parse("Jan  5 14:03:01", UTC, now) == datetime(2024, 1, 5, 14, 3, 1, tzinfo=UTC)
    assert parse("Jun 15 11:00:00", UTC, now) == datetime(2024, 6, 15, 11, tzinfo=UTC)


@pytest.mark.parametrize("now,value,year", [
    (datetime(2024, 1, 2, tzinfo=UTC), "Dec 31 23:00:00", 2023),     # last year's December
    (datetime(2023, 12, 31, 23, tzinfo=UTC), "Jan  1 00:10:00", 2024),  # clock skew into next year
    (datetime(2024, 6, 15, tzinfo=UTC), "Jul  1 00:00:00", 2024),    # two weeks ahead is fine
    (datetime(2024, 6, 15, tzinfo=UTC), "Sep  1 00:00:00", 2023),    # months ahead means last year
])
def test_year_guessing(now, value, year) -> None:
    parsed = compile_joda("MMM d HH:mm:ss")(value, UTC, now)
    assert parsed is not None and parsed.year == year


def test_year_guess_uses_the_current_clock_in_the_filter() -> None:
    now = datetime.now(UTC)
    text = (now - timedelta(days=1)).strftime("%b %d %H:%M:%S")
    e = date(text, "MMM dd HH:mm:ss")
    assert abs(e.get("@timestamp") - now) < timedelta(days=2)


def test_month_and_day_names_follow_the_locale() -> None:
    assert date("15/Jan/2024", "dd/MMM/yyyy", locale="en-US").get("@timestamp").month == 1
    for locale in ("fr", "fr-FR", "fr_FR"):
        e = date("mardi 14 juillet 1789", "EEEE dd MMMM yyyy", locale=locale)
        assert e.get("@timestamp") == datetime(1789, 7, 14, tzinfo=UTC)
    assert date("3. Mai 2024", "d. MMMM yyyy", locale="de").get("@timestamp").month == 5
    assert date("3 sept. 2024", "d MMM yyyy", locale="fr").get("@timestamp").month == 9
    assert date("sábado, 5 de octubre de 2024", "EEEE, d 'de' MMMM 'de' yyyy",
                locale="es").get("@timestamp") == datetime(2024, 10, 5, tzinfo=UTC)
    assert date("2024年3月5日", "yyyy年MMMd日", locale="ja").get("@timestamp").month == 3
    assert date("14 July 1789", "dd MMMM yyyy", locale="fr").tags == ["_dateparsefailure"]
    with pytest.raises(ValidationError):
        DateFilter.Config(match=["ts", "ISO8601"], locale="xx-Nowhere")


def test_millisecond_precision_as_logstash_keeps_it() -> None:
    for value, fmt in (("2024-01-15T10:23:45.123456Z", "ISO8601"), ("1705314225.123456", "UNIX"),
                       ("@4000000065a507ec075bcd15", "TAI64N")):
        e = date(value, fmt, precision="millisecond")
        assert e.get("@timestamp").microsecond % 1000 == 0, value
        assert e.get("@timestamp").microsecond == date(value, fmt).get("@timestamp").microsecond // 1000 * 1000


def test_wall_clock_times_in_a_daylight_saving_gap_fail() -> None:
    assert date("2016-03-27 02:30:00", "yyyy-MM-dd HH:mm:ss", timezone="CET").tags == ["_dateparsefailure"]
    assert date("2016-03-27T02:30:00", "ISO8601", timezone="CET").tags == ["_dateparsefailure"]
    e = date("2016-03-27 03:30:00", "yyyy-MM-dd HH:mm:ss", timezone="CET")
    assert e.get("@timestamp") == datetime(2016, 3, 27, 1, 30, tzinfo=UTC)


@pytest.mark.parametrize("options", [{"match": ["ts", "yyyy-MM-dd qq"]},
                                     {"match": ["ts", "ISO8601"], "timezone": "Mars/Base"},
                                     {"match": ["ts", ""]}])
def test_config_errors(options) -> None:
    with pytest.raises(ConfigError):
        DateFilter(DateFilter.Config(**options), id="d")


def test_repeated_texts_parse_the_same_every_time_across_batches() -> None:
    """Times are remembered by text; every event still gets its own answer or its tag."""
    f = DateFilter(DateFilter.Config(match=["ts", "dd/MMM/yyyy:HH:mm:ss Z"]), id="d")
    texts = ["10/Oct/2000:13:55:36 -0700", "not a time", "10/Oct/2000:13:55:36 -0700"]
    for _ in range(2):
        events = f.process([Event({"ts": t}) for t in texts])
        assert [e.get("@timestamp") for e in (events[0], events[2])] == [
            datetime(2000, 10, 10, 20, 55, 36, tzinfo=UTC)] * 2
        assert events[1].get("tags") == ["_dateparsefailure"]
        assert events[0].get("tags") is None


def test_a_zone_from_the_event_is_read_for_every_event_even_for_the_same_text() -> None:
    f = DateFilter(DateFilter.Config(match=["ts", "yyyy-MM-dd HH:mm:ss"], timezone="%{tz}"), id="d")
    a, b = f.process([Event({"ts": "2024-01-15 10:00:00", "tz": "+01:00"}),
                      Event({"ts": "2024-01-15 10:00:00", "tz": "+03:00"})])
    assert a.get("@timestamp") - b.get("@timestamp") == timedelta(hours=2)
