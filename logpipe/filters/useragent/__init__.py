"""User-agent enrichment: browser, OS, device name and device type (ECS ``user_agent``)."""
from logpipe.filters.useragent.config import UserAgentConfig
from logpipe.filters.useragent.devicetype import device_type
from logpipe.filters.useragent.filter import UserAgentFilter

__all__ = ["UserAgentConfig", "UserAgentFilter", "device_type"]
