"""The date filter (see :mod:`logpipe.filters.date.formats` for the formats)."""
from __future__ import annotations

from logpipe.filters.date.filter import DateConfig, DateFilter

__all__ = ["DateConfig", "DateFilter"]
