"""Reading syslog lines (RFC 3164, RFC 5424) and TCP framing (RFC 6587)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from logpipe.core.zones import zone_of
from logpipe.inputs.syslog.framing import Framer
from logpipe.inputs.syslog.parse import parse

NOW = datetime(2024, 3, 10, 12, 0, tzinfo=timezone.utc)


def test_rfc3164_with_host_tag_and_pid() -> None:
    s = parse("<34>Oct 11 22:14:15 mymachine su[230]: 'su root' failed for lonvick on /dev/pts/8", now=NOW)
    assert s is not None and s.rfc == 3164
    assert (s.priority, s.hostname, s.program, s.pid) == (34, "mymachine", "su", "230")
    assert s.message == "'su root' failed for lonvick on /dev/pts/8"
    assert s.timestamp == datetime(2023, 10, 11, 22, 14, 15, tzinfo=timezone.utc)   # October is last year's


def test_rfc3164_single_digit_day_zone_and_no_pid() -> None:
    s = parse("<13>Mar  1 08:00:00 host cron: job", zone_of("+02:00"), now=NOW)
    assert s is not None and s.program == "cron" and s.pid is None and s.message == "job"
    assert s.timestamp == datetime(2024, 3, 1, 6, 0, tzinfo=timezone.utc)


def test_rfc3164_with_an_iso_timestamp_as_rsyslog_writes_it() -> None:
    s = parse("<13>2024-03-10T11:59:58.123+01:00 web nginx[9]: GET /")
    assert s is not None and s.hostname == "web" and s.timestamp == datetime(
        2024, 3, 10, 10, 59, 58, 123000, tzinfo=timezone.utc)


def test_rfc5424_with_structured_data_escapes_and_bom() -> None:
    s = parse('<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 42 ID47 '
              '[exampleSDID@32473 iut="3" eventSource="App \\"quoted\\" \\]"][examplePriority@32473 class="high"] '
              '\ufeffAn application event log entry')
    assert s is not None and s.rfc == 5424 and s.version == 1
    assert (s.hostname, s.program, s.pid, s.msgid) == ("mymachine.example.com", "evntslog", "42", "ID47")
    assert s.structured_data == {"exampleSDID@32473": {"iut": "3", "eventSource": 'App "quoted" ]'},
                                 "examplePriority@32473": {"class": "high"}}
    assert s.message == "An application event log entry"
    assert s.timestamp == datetime(2003, 10, 11, 22, 14, 15, 3000, tzinfo=timezone.utc)


def test_rfc5424_nil_values_and_offsets() -> None:
    s = parse("<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.")
    assert s is not None and s.msgid is None and s.structured_data == {}
    assert s.timestamp == datetime(2003, 8, 24, 12, 14, 15, 3, tzinfo=timezone.utc)
    t = parse("<14>1 - - - - - -")
    assert t is not None and t.timestamp is None and t.hostname is None and t.message == ""


@pytest.mark.parametrize("text", ["plain text", "<>x", "<192>Oct 11 22:14:15 h p: m", "<13>",
                                  "<13>1 2003-10-11T22:14:15 h a p m [broken sd",
                                  "<13>1 not-a-time h a p m - msg", "<13>Foo 11 22:14:15 h p: m"])
def test_what_is_neither_rfc_is_refused(text: str) -> None:
    assert parse(text) is None


def test_framer_mixes_octet_counting_and_newlines_across_chunks() -> None:
    f = Framer(1000)
    msg = b"<13>1 - h a - - - hello\nworld"          # an octet-counted frame may hold a newline
    data = b"%d " % len(msg) + msg + b"<13>plain line\r\n" + b"5 abcde"
    out = []
    for i in range(len(data)):                        # one byte at a time
        out += f.feed(data[i:i + 1])
    assert out == [(msg, False), (b"<13>plain line", False), (b"abcde", False)]
    assert f.rest() == b""


def test_framer_does_not_trust_a_length_beyond_the_limit_and_cuts_long_lines() -> None:
    f = Framer(20)
    out = f.feed(b"99999 <13>too long a count\n" + b"x" * 50 + b"\nok\n")
    assert out == [(b"99999 <13>too long a", True), (b"x" * 20, True), (b"ok", False)]
    assert f.feed(b"y" * 30) == [(b"y" * 20, True)]
    assert f.feed(b"yyy\nafter\n") == [(b"after", False)]


def test_framer_keeps_a_last_line_without_newline() -> None:
    f = Framer(100)
    assert f.feed(b"<13>a\n<13>b") == [(b"<13>a", False)]
    assert f.rest() == b"<13>b"


def test_zone_names_and_offsets() -> None:
    assert zone_of("-05:30").utcoffset(None) == -timedelta(hours=5, minutes=30)
    with pytest.raises(ValueError):
        zone_of("Mars/Olympus")


def test_logstash_options_of_the_syslog_input() -> None:
    from logpipe.errors import ConfigError
    from logpipe.inputs.syslog.config import SyslogConfig

    assert "codec" not in SyslogConfig.from_logstash({"port": 514, "codec": "plain"})
    with pytest.raises(ConfigError, match="codec 'json' is not supported"):
        SyslogConfig.from_logstash({"codec": "json"})
    assert SyslogConfig(locale="en_US").locale == "en_US"
    with pytest.raises(ValueError, match="English"):
        SyslogConfig(locale="fr_FR")
