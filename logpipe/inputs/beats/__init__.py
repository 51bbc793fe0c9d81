"""``beats`` input: Lumberjack v2 (Filebeat, Metricbeat, ...) with end-to-end ACKs."""
from __future__ import annotations

from logpipe.inputs.beats.config import BeatsConfig
from logpipe.inputs.beats.plugin import BeatsInput

__all__ = ["BeatsConfig", "BeatsInput"]
