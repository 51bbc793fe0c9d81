"""The fingerprint filter: a consistent hash (or a UUID) of chosen fields."""
from __future__ import annotations

from logpipe.filters.fingerprint.config import FingerprintConfig
from logpipe.filters.fingerprint.filter import FingerprintFilter

__all__ = ["FingerprintConfig", "FingerprintFilter"]
