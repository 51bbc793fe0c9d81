"""The benchmark suite behind ``logpipe bench``.

Each scenario is a module with ``run(options) -> ScenarioResult``; the
``benchmarks/`` scripts of a checkout are thin wrappers around them, so the
same code runs from a clone and from an installed package. Figures are only
comparable within one run on one machine, which is why every scenario measures
its yardstick (a bare loop, a peer product, a direct loader) back to back with
logpipe and reports the ratio.
"""
from __future__ import annotations

SCENARIOS = ("regex", "graphmemory", "simple", "e2e", "latency", "memory", "startup")
