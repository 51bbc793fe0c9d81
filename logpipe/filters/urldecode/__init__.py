"""The urldecode filter: percent-decoding of fields."""
from __future__ import annotations

from logpipe.filters.urldecode.config import UrldecodeConfig
from logpipe.filters.urldecode.filter import UrldecodeFilter

__all__ = ["UrldecodeConfig", "UrldecodeFilter"]
