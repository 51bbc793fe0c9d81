"""Settings of the ``syslog_pri`` filter (Logstash's names and defaults)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from logpipe.filters.common import CommonOptions

FACILITIES = ["kernel", "user-level", "mail", "daemon", "security/authorization", "syslogd",
              "line printer", "network news", "uucp", "clock", "security/authorization",
              "ftp", "ntp", "log audit", "log alert", "clock", "local0", "local1", "local2",
              "local3", "local4", "local5", "local6", "local7"]
SEVERITIES = ["emergency", "alert", "critical", "error", "warning", "notice",
              "informational", "debug"]


class SyslogPriConfig(CommonOptions):
    """Split a syslog PRI number into facility and severity (codes and names)."""

    syslog_pri_field_name: str | None = Field(None, description=(
        "Field holding the PRI number (text or integer; a list uses its first item; "
        "missing means 13, user-level notice). Default: `syslog_pri`, or "
        "`[log][syslog][priority]` when `ecs_compatibility` is v1/v8."))
    use_labels: bool = Field(True, description="Also write the facility and severity names.")
    facility_labels: list[str] = Field(default_factory=lambda: list(FACILITIES), description=(
        "Facility names by code (0 to 23)."))
    severity_labels: list[str] = Field(default_factory=lambda: list(SEVERITIES), description=(
        "Severity names by code (0 to 7)."))
    ecs_compatibility: Literal["disabled", "v1", "v8"] = Field("v8", description=(
        "Where results go. disabled: `syslog_facility_code`, `syslog_severity_code`, "
        "`syslog_facility`, `syslog_severity`. v1/v8: `[log][syslog][facility][code]`, "
        "`[log][syslog][severity][code]`, `[log][syslog][facility][name]`, "
        "`[log][syslog][severity][name]`."))
