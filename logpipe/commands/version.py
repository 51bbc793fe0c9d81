"""``logpipe version``."""
from __future__ import annotations

import argparse
import platform


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("version", help="print the version")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from logpipe import __version__
    print(f"logpipe {__version__} (Python {platform.python_version()})")
    return 0
