"""``aggregate`` is refused: see :mod:`logpipe.filters.aggregate.refused`."""
from __future__ import annotations

from logpipe.filters.aggregate.refused import AggregateConfig, AggregateFilter

__all__ = ["AggregateConfig", "AggregateFilter"]
