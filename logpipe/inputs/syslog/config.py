"""Settings of the ``syslog`` input (Logstash's names where Logstash has them)."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from logpipe.core.zones import zone_of
from logpipe.errors import ConfigError
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
    locale: str | None = Field(None, description="Month names of RFC 3164 times: English only (en, en_US, ...).")

    @field_validator("locale")
    @classmethod
    def _english(cls, v: str | None) -> str | None:
        if v is not None and not v.lower().startswith("en"):
            raise ValueError(f"only English month names are read (locale {v!r} is not supported)")
        return v

    @classmethod
    def from_logstash(cls, options: dict[str, Any]) -> dict[str, Any]:
        """Logstash's syslog input reads each line with the plain codec; that is what this input
        does, so ``codec => plain`` (or line) is taken as said, and any other codec is refused."""
        out = dict(options)
        codec = out.pop("codec", None)
        name = codec.get("type") if isinstance(codec, dict) else codec
        if codec is not None and (name not in ("plain", "line") or (isinstance(codec, dict) and len(codec) > 1)):
            raise ConfigError(f"syslog input: codec {name!r} is not supported; the syslog input reads "
                              "each message itself (use plain, or a filter after it)")
        return out

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        zone_of(v)
        return v
