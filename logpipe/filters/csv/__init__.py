"""The csv filter: a delimited line into named fields."""
from __future__ import annotations

from logpipe.filters.csv.config import CsvConfig
from logpipe.filters.csv.filter import CsvFilter

__all__ = ["CsvConfig", "CsvFilter"]
