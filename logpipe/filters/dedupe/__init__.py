"""``dedupe``: drop repeats of an event seen within a time window."""
from __future__ import annotations

from logpipe.filters.dedupe.config import DedupeConfig
from logpipe.filters.dedupe.filter import DedupeFilter

__all__ = ["DedupeConfig", "DedupeFilter"]
