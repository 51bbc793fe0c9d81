"""The truncate filter: cut text fields to a number of bytes."""
from __future__ import annotations

from logpipe.filters.truncate.config import TruncateConfig
from logpipe.filters.truncate.filter import TruncateFilter

__all__ = ["TruncateConfig", "TruncateFilter"]
