"""Scenario "graphmemory" of ``logpipe bench``, runnable from a checkout.

    python benchmarks/graphmemory_scenario.py [--quick]

The code lives in logpipe/bench/graphmemory.py (the straight-line yardstick in
logpipe/bench/reference.py).
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from logpipe.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["bench", "--scenario", "graphmemory", *sys.argv[1:]]))
