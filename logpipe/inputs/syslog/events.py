"""A parsed syslog message as an event, with Logstash's field names for either ECS mode.

ECS (v1, v8): ``[log][syslog][priority]``, ``[log][syslog][facility][code|name]``,
``[log][syslog][severity][code|name]``, ``[host][hostname]``, ``[process][name]``,
``[process][pid]``, ``[host][ip]`` (the sender), and for RFC 5424
``[log][syslog][version]``, ``[log][syslog][msgid]``, ``[log][syslog][structured_data]``.
Without ECS: ``priority``, ``facility``, ``facility_label``, ``severity``,
``severity_label``, ``timestamp``, ``logsource``, ``program``, ``pid``, ``host``
(and ``version``, ``msgid``, ``structured_data``). The syslog time becomes
``@timestamp``.

A line that is neither RFC keeps its raw text in ``message``, is tagged
``_grokparsefailure_sysloginput`` and gets the default priority 13 (user-level,
notice), as Logstash's syslog input does.
"""
from __future__ import annotations

from datetime import tzinfo

from logpipe.core.codec import decode_text
from logpipe.core.event import Event
from logpipe.inputs.syslog.config import SyslogConfig
from logpipe.inputs.syslog.parse import Syslog, parse

FAILURE_TAG = "_grokparsefailure_sysloginput"
TOO_LONG_TAG = "_syslog_message_too_long"
DEFAULT_PRIORITY = 13

_ECS = {"priority": "[log][syslog][priority]", "facility": "[log][syslog][facility][code]",
        "facility_label": "[log][syslog][facility][name]", "severity": "[log][syslog][severity][code]",
        "severity_label": "[log][syslog][severity][name]", "logsource": "[host][hostname]",
        "program": "[process][name]", "pid": "[process][pid]", "host": "[host][ip]",
        "version": "[log][syslog][version]", "msgid": "[log][syslog][msgid]",
        "structured_data": "[log][syslog][structured_data]"}


class EventMaker:
    def __init__(self, cfg: SyslogConfig, zone: tzinfo) -> None:
        self.cfg = cfg
        self.zone = zone
        self.ecs = cfg.ecs_compatibility != "disabled"

    def name(self, legacy: str) -> str:
        return _ECS[legacy] if self.ecs else legacy

    def make(self, raw: bytes, sender: str, cut: bool = False) -> Event:
        text, utf8_ok = decode_text(raw)
        text = text.rstrip("\r\n\x00")
        parsed = parse(text, self.zone)
        event = Event({"message": text}) if parsed is None else self._event(parsed)
        if parsed is None:
            event.add_tag(FAILURE_TAG)
            self._priority(event, DEFAULT_PRIORITY, with_priority=False)
        event.set(self.name("host"), sender)
        if not utf8_ok:
            event.add_tag("_utf8error")
        if cut:
            event.add_tag(TOO_LONG_TAG)
        return event

    def _event(self, s: Syslog) -> Event:
        event = Event({"message": s.message} if s.timestamp is None
                      else {"@timestamp": s.timestamp, "message": s.message})
        self._priority(event, s.priority, with_priority=True)
        n = self.name
        if not self.ecs and s.timestamp_text is not None:
            event.set("timestamp", s.timestamp_text)
        if s.hostname is not None:
            event.set(n("logsource"), s.hostname)
        if s.program is not None:
            event.set(n("program"), s.program)
        if s.pid:
            event.set(n("pid"), int(s.pid) if self.ecs and s.pid.isdigit() else s.pid)
        if s.rfc == 5424:
            event.set(n("version"), s.version)
            if s.msgid is not None:
                event.set(n("msgid"), s.msgid)
            if s.structured_data:
                event.set(n("structured_data"), s.structured_data)
        return event

    def _priority(self, event: Event, priority: int, *, with_priority: bool) -> None:
        facility, severity = priority >> 3, priority & 7
        n = self.name
        if with_priority:
            event.set(n("priority"), priority)
        event.set(n("facility"), facility)
        event.set(n("severity"), severity)
        if self.cfg.use_labels:
            if facility < len(self.cfg.facility_labels):
                event.set(n("facility_label"), self.cfg.facility_labels[facility])
            if severity < len(self.cfg.severity_labels):
                event.set(n("severity_label"), self.cfg.severity_labels[severity])
