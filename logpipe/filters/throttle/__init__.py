"""The throttle filter: tag events past a count per key and period."""
from __future__ import annotations

from logpipe.filters.throttle.config import ThrottleConfig
from logpipe.filters.throttle.filter import ThrottleFilter

__all__ = ["ThrottleConfig", "ThrottleFilter"]
