"""Scenario "regex" of ``logpipe bench`` (Vector's regex parsing case), runnable from a checkout.

    python benchmarks/regex_scenario.py [--quick]

The code lives in logpipe/bench/regex.py so that ``logpipe bench --scenario
regex`` runs the same thing from an installed package.
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from logpipe.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["bench", "--scenario", "regex", *sys.argv[1:]]))
