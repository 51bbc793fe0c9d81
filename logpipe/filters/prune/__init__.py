"""The prune filter: keep or drop top-level fields by name or value."""
from __future__ import annotations

from logpipe.filters.prune.config import PruneConfig
from logpipe.filters.prune.filter import PruneFilter

__all__ = ["PruneConfig", "PruneFilter"]
