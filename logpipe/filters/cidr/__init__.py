"""The cidr filter: tag events whose addresses fall in given networks."""
from __future__ import annotations

from logpipe.filters.cidr.config import CidrConfig
from logpipe.filters.cidr.filter import CidrFilter

__all__ = ["CidrConfig", "CidrFilter"]
