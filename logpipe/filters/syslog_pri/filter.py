"""The syslog_pri filter: PRI = facility * 8 + severity.

A value that is not a whole number (``<13>`` is read as 13) gets
``_syslogpriparsefailure`` and no fields, instead of Logstash's silent 0; a facility
without a label gets the same tag (codes written, no names), as in Logstash.
"""
from __future__ import annotations

import re
from typing import Any

from logpipe.core.event import Event
from logpipe.core.fieldref import parse
from logpipe.core.plugin import Filter, PluginContext
from logpipe.filters.common import CommonActions
from logpipe.filters.syslog_pri.config import SyslogPriConfig

FAILURE_TAG = "_syslogpriparsefailure"
_PRI = re.compile(r"\s*<?\s*(\d+)\s*>?\s*")
_FIELDS = {
    "disabled": ("syslog_pri", "syslog_facility_code", "syslog_severity_code",
                 "syslog_facility", "syslog_severity"),
    "ecs": ("[log][syslog][priority]", "[log][syslog][facility][code]",
            "[log][syslog][severity][code]", "[log][syslog][facility][name]",
            "[log][syslog][severity][name]"),
}


def _priority(value: Any) -> int | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None:
        return 13
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    match = _PRI.fullmatch(str(value))
    return int(match.group(1)) if match else None


class SyslogPriFilter(Filter):
    """Writes facility and severity codes (and names) from the PRI field."""

    Config = SyslogPriConfig
    runs_on_event_loop = True
    config: SyslogPriConfig

    def __init__(self, config: SyslogPriConfig, *, id: str,
                 context: PluginContext | None = None) -> None:
        super().__init__(config, id=id, context=context)
        names = _FIELDS["disabled" if config.ecs_compatibility == "disabled" else "ecs"]
        self._source = parse(config.syslog_pri_field_name or names[0])
        self._facility_code, self._severity_code, self._facility, self._severity = (
            parse(n) for n in names[1:])
        self._actions = CommonActions(config)

    def process(self, events: list[Event]) -> list[Event]:
        facilities = self.config.facility_labels
        severities = self.config.severity_labels
        for event in events:
            pri = _priority(event.get_path(self._source))
            if pri is None or pri < 0:
                event.add_tag(FAILURE_TAG)
                continue
            facility, severity = pri >> 3, pri & 7
            event.set_path(self._facility_code, facility)
            event.set_path(self._severity_code, severity)
            if not self.config.use_labels:
                continue
            if facility >= len(facilities):
                event.add_tag(FAILURE_TAG)    # no label for it, as in Logstash
                continue
            event.set_path(self._facility, facilities[facility])
            if severity < len(severities):
                event.set_path(self._severity, severities[severity])
        self._actions.apply(events)    # Logstash applies them to every event
        return events
