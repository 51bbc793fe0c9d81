"""``logpipe check``: validate a pipeline and print its plan."""
from __future__ import annotations

import argparse

from logpipe.commands._common import add_pipeline_args, load_pipeline


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="validate a pipeline and print its plan")
    add_pipeline_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    spec = load_pipeline(args)
    print(spec.describe())
    print("configuration OK")
    return 0
