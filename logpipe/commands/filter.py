"""``logpipe filter``: events on stdin through a pipeline's filters, JSON lines out.

The pipeline's own inputs and outputs are replaced by stdin and stdout, so the
filters can be tried on sample lines before anything is deployed.
"""
from __future__ import annotations

import argparse
import dataclasses

from logpipe.commands._common import add_pipeline_args, load_pipeline


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("filter", help="run stdin through a pipeline's filters to stdout")
    add_pipeline_args(p)
    p.add_argument("--format", choices=("lines", "json"), default="lines",
                   help="lines: each line becomes message; json: each line is a JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from logpipe.config.loader import PluginEntry
    from logpipe.core import registry
    from logpipe.runtime import logs
    from logpipe.runtime.runner import run_blocking

    spec = load_pipeline(args)
    logs.setup("warning", "auto")
    stdin_cls = registry.get("input", "stdin")
    stdout_cls = registry.get("output", "stdout")
    codec = "json_lines" if args.format == "json" else "lines"
    # One input's own type/tags/add_field still apply: conditions often test them.
    decoration = spec.inputs[0].decoration if len(spec.inputs) == 1 else None
    spec = dataclasses.replace(
        spec,
        settings=spec.settings.model_copy(update={"pipeline_workers": 1}),
        inputs=[PluginEntry("input", "stdin", "stdin", stdin_cls, stdin_cls.Config.model_validate({"codec": codec}),
                            decoration=decoration)],
        outputs=[PluginEntry("output", "stdout", "stdout", stdout_cls, stdout_cls.Config())],
    )
    return run_blocking(spec)
