"""``logpipe run``: the service."""
from __future__ import annotations

import argparse

from logpipe.commands._common import add_pipeline_args, load_pipeline


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("run", help="run a pipeline")
    add_pipeline_args(p)
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: CPU count)")
    p.add_argument("--log-format", choices=("auto", "json", "text"), default="auto")
    p.add_argument("--log-level", default=None)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from logpipe.runtime import logs

    spec = load_pipeline(args)
    logs.setup(args.log_level or spec.settings.log_level, args.log_format)
    workers = args.workers or spec.settings.workers or 1
    if workers > 1:
        try:
            from logpipe.runtime.supervisor import supervise
        except ImportError:
            pass
        else:
            return supervise(args, spec, workers)
    from logpipe.runtime.runner import run_blocking
    return run_blocking(spec)
