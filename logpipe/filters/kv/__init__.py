"""The kv filter: ``key=value`` pairs in text become fields (see :mod:`.scanner`)."""
from __future__ import annotations

from logpipe.filters.kv.config import KvConfig
from logpipe.filters.kv.filter import KvFilter

__all__ = ["KvConfig", "KvFilter"]
