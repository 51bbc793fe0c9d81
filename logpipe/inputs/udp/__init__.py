"""``udp`` input: datagrams through a codec (plain by default), sender address kept."""
from __future__ import annotations

from logpipe.inputs.udp.config import UdpConfig
from logpipe.inputs.udp.input import UdpInput

__all__ = ["UdpConfig", "UdpInput"]
