"""Options and helpers shared by subcommands."""
from __future__ import annotations

import argparse

from logpipe.config.loader import PipelineSpec, load_file, resolve


def add_pipeline_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pipeline", "-p", required=True, metavar="NAME|PATH",
                        help="pipelines/NAME.yaml, or a path to a pipeline file")
    parser.add_argument("--config-dir", metavar="DIR", help="where to look for pipelines/NAME.yaml")


def load_pipeline(args: argparse.Namespace) -> PipelineSpec:
    return load_file(resolve(args.pipeline, getattr(args, "config_dir", None)))
