"""The de_dot filter: dots in field names replaced or turned into nesting."""
from __future__ import annotations

from logpipe.filters.de_dot.config import DeDotConfig
from logpipe.filters.de_dot.filter import DeDotFilter

__all__ = ["DeDotConfig", "DeDotFilter"]
