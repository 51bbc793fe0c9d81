"""Settings of the ``syslog`` input (Logstash's names where Logstash has them)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from logpipe.core.zones import zone_of
from logpipe.net.tls import TlsServerOptions

FACILITY_LABELS = ["kernel", "user-level", "mail", "system", "security/authorization", "syslogd",
                   "line printer", "network news", "UUCP", "clock", "security/authorization", "FTP",
                   "NTP", "log audit", "log alert", "clock", "local0", "local1", "local2", "local3",
                   "local4", "local5", "local6", "local7"]
SEVERITY_LABELS = ["Emergency", "Alert", "Critical", "Error", "Warning", "Notice", "Informational", "Debug"]


class SyslogConfig(TlsServerOptions):
    host: str = Field("127.0.0.1", description="Address to listen on, TCP and UDP (0.0.0.0 for every interface).")
    port: int = Field(514, ge=0, le=65535, description="Port, TCP and UDP (0: any free port; tests).")
    protocols: list[Literal["tcp", "udp"]] = Field(
        default_factory=lambda: list[Literal["tcp", "udp"]](["tcp", "udp"]),
        description="Which transports to listen on.")
    timezone: str = Field("UTC", description="Zone of RFC 3164 timestamps, which carry none.")
    use_labels: bool = Field(True, description="Add facility and severity names.")
    facility_labels: list[str] = Field(default_factory=lambda: list(FACILITY_LABELS),
                                       description="Facility names by code.")
    severity_labels: list[str] = Field(default_factory=lambda: list(SEVERITY_LABELS),
                                       description="Severity names by code.")
    ecs_compatibility: Literal["disabled", "v1", "v8"] = Field("v8", description="Field names (see docs).")
    max_message_bytes: int = Field(64 * 1024, ge=256,
                                   description="Longer messages are cut and tagged _syslog_message_too_long.")
    max_connections: int = Field(1000, ge=1, description="TCP connections beyond this are closed at once.")
    idle_timeout: float = Field(600.0, gt=0, description="Seconds a silent TCP connection is kept.")
    reuse_port: bool = Field(True, description="SO_REUSEPORT so worker processes share the port.")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        zone_of(v)
        return v
