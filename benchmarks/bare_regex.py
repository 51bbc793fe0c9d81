"""The yardstick for scenario "regex" (kept here for running by hand).

usage: bare_regex.py IN_PORT OUT_PORT REGEX -- see logpipe/bench/bare_regex.py.
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from logpipe.bench.bare_regex import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
