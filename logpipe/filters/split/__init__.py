"""The split filter: one event per piece of a field."""
from __future__ import annotations

from logpipe.filters.split.config import SplitConfig
from logpipe.filters.split.filter import SplitFilter

__all__ = ["SplitConfig", "SplitFilter"]
