"""The uuid filter: a random UUID per event."""
from __future__ import annotations

from logpipe.filters.uuid.config import UuidConfig
from logpipe.filters.uuid.filter import UuidFilter

__all__ = ["UuidConfig", "UuidFilter"]
