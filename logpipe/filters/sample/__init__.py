"""``sample``: keep what matters, thin the rest per key, record each kept event's weight."""
from __future__ import annotations

from logpipe.filters.sample.config import SampleConfig
from logpipe.filters.sample.filter import SampleFilter

__all__ = ["SampleConfig", "SampleFilter"]
