"""Realistic GraphMemory traffic for demos, tests and benchmarks (``logpipe generate``)."""
from __future__ import annotations

from logpipe.generate.traffic import Record, TrafficModel

__all__ = ["Record", "TrafficModel"]
