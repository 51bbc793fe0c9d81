"""The clone filter: copies of each event, one per name in ``clones``."""
from __future__ import annotations

from logpipe.filters.clone.config import CloneConfig
from logpipe.filters.clone.filter import CloneFilter

__all__ = ["CloneConfig", "CloneFilter"]
