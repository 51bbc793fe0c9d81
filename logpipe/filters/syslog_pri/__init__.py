"""The syslog_pri filter: facility and severity from a syslog PRI number."""
from __future__ import annotations

from logpipe.filters.syslog_pri.config import SyslogPriConfig
from logpipe.filters.syslog_pri.filter import SyslogPriFilter

__all__ = ["SyslogPriConfig", "SyslogPriFilter"]
