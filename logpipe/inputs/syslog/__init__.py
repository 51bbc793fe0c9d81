"""``syslog`` input: RFC 3164 and 5424 over TCP (RFC 6587 framing, optional TLS) and UDP."""
from __future__ import annotations

from logpipe.inputs.syslog.config import SyslogConfig
from logpipe.inputs.syslog.input import SyslogInput

__all__ = ["SyslogConfig", "SyslogInput"]
