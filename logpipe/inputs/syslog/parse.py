"""Reading syslog messages: RFC 3164 (BSD) and RFC 5424, into plain parts.

RFC 3164: ``<PRI>Mmm dd hh:mm:ss HOST TAG[PID]: MSG`` (the timestamp may also be
ISO 8601, as rsyslog writes it). RFC 5424: ``<PRI>1 TIMESTAMP HOST APP PROCID
MSGID [SD-ID k="v"...] MSG`` where ``-`` means absent. What does not fit either is
not guessed at: ``parse`` returns None and the caller keeps the raw text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo

_PRI = re.compile(r"<(\d{1,3})>")
_BSD = re.compile(
    r"(?P<ts>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?)"
    r" (?:(?P<host>[^\s:\[]+) )?(?P<tag>[^\s:\[]+)?(?:\[(?P<pid>[^\]]*)\])?:? ?(?P<msg>.*)",
    re.DOTALL)
_5424 = re.compile(r"(?P<ver>[1-9]\d{0,2}) (?P<ts>\S+) (?P<host>\S+) (?P<app>\S+) (?P<pid>\S+) (?P<msgid>\S+) "
                   r"(?P<rest>.*)", re.DOTALL)
_SD_ELEMENT = re.compile(r'\[([^\s=\]"]+)((?:\s+[^\s=\]"]+="(?:[^"\\]|\\.)*")*)\s*\]')
_SD_PARAM = re.compile(r'([^\s=\]"]+)="((?:[^"\\]|\\.)*)"')
_SD_UNESCAPE = re.compile(r'\\([\\"\]])')
_MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
_BOM = "\ufeff"


@dataclass
class Syslog:
    priority: int
    rfc: int                      # 3164 or 5424
    timestamp: datetime | None = None
    timestamp_text: str | None = None
    hostname: str | None = None
    program: str | None = None
    pid: str | None = None
    message: str = ""
    version: int | None = None
    msgid: str | None = None
    structured_data: dict[str, dict[str, str]] = field(default_factory=dict)


def parse(text: str, zone: tzinfo = timezone.utc, now: datetime | None = None) -> Syslog | None:
    """The parts of one syslog message, or None when it is neither RFC."""
    m = _PRI.match(text)
    if m is None:
        return None
    pri = int(m.group(1))
    if pri > 191:
        return None
    body = text[m.end():]
    if body[:1].isdigit() and body[1:2] in (" ", "") or body[:2].isdigit() and body[2:3] == " ":
        r = _5424.match(body)
        if r is not None:
            return _rfc5424(pri, r)
    b = _BSD.match(body)
    if b is None:
        return None
    when = _bsd_time(b.group("ts"), zone, now)
    if when is None:
        return None
    return Syslog(priority=pri, rfc=3164, timestamp=when,
                  timestamp_text=b.group("ts"), hostname=b.group("host"), program=b.group("tag"),
                  pid=b.group("pid"), message=b.group("msg"))


def _nil(value: str) -> str | None:
    return None if value == "-" else value


def _rfc5424(pri: int, r: re.Match[str]) -> Syslog | None:
    rest = r.group("rest")
    sd: dict[str, dict[str, str]] = {}
    if rest.startswith("-"):
        msg = rest[2:] if rest.startswith("- ") else rest[1:]
        if rest[1:2] not in ("", " "):
            return None
    elif rest.startswith("["):
        pos = 0
        while pos < len(rest) and rest[pos] == "[":
            e = _SD_ELEMENT.match(rest, pos)
            if e is None:
                return None
            sd[e.group(1)] = {k: _SD_UNESCAPE.sub(r"\1", v) for k, v in _SD_PARAM.findall(e.group(2))}
            pos = e.end()
        msg = rest[pos + 1:] if rest[pos:pos + 1] == " " else rest[pos:]
        if msg and rest[pos:pos + 1] != " ":
            return None
    else:
        return None
    ts_text = _nil(r.group("ts"))
    when = None
    if ts_text is not None:
        try:
            when = datetime.fromisoformat(ts_text.replace("Z", "+00:00"))
        except ValueError:
            return None
        if when.tzinfo is None:
            return None
        when = when.astimezone(timezone.utc)
    if msg.startswith(_BOM):
        msg = msg[1:]
    return Syslog(priority=pri, rfc=5424, timestamp=when, timestamp_text=ts_text, hostname=_nil(r.group("host")),
                  program=_nil(r.group("app")), pid=_nil(r.group("pid")), message=msg,
                  version=int(r.group("ver")), msgid=_nil(r.group("msgid")), structured_data=sd)


def _bsd_time(text: str, zone: tzinfo, now: datetime | None) -> datetime | None:
    if text[:1].isdigit():
        try:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        return (when if when.tzinfo else when.replace(tzinfo=zone)).astimezone(timezone.utc)
    month = _MONTHS.get(text[:3])
    if month is None:
        return None
    try:
        day = int(text[4:6])
        hh, mm, ss = (int(x) for x in text[7:15].split(":"))
        current = now or datetime.now(timezone.utc)
        when = datetime(current.year, month, day, hh, mm, ss, tzinfo=zone)
    except ValueError:
        return None
    # No year in RFC 3164: a date far in the future was last year's (December read in January).
    if when.astimezone(timezone.utc) - current > timedelta(days=2):
        when = when.replace(year=current.year - 1)
    return when.astimezone(timezone.utc)


def facility_severity(priority: int) -> tuple[int, int]:
    return priority >> 3, priority & 7
