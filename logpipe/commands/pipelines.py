"""``logpipe run`` and ``logpipe check`` over a pipelines.yml (several pipelines, one process tree).

With no ``--pipeline``, ``-f`` or ``-e``, both read ``pipelines.yml``: from
``--path.settings DIR`` when given, else from the current directory.
``--pipeline path/to/pipelines.yml`` names one directly.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from logpipe.errors import ConfigError


def pipelines_file(args: argparse.Namespace) -> Path | None:
    """The pipelines.yml these arguments ask for, or None when they name one pipeline."""
    from logpipe.config import pipelines_yml

    named = getattr(args, "pipeline", None)
    if named is not None:
        return Path(named) if pipelines_yml.is_pipelines_file(named) else None
    if getattr(args, "path_config", None) is not None or getattr(args, "config_string", None) is not None:
        return None
    return pipelines_yml.find(getattr(args, "path_settings", None))


def _refuse_flags(args: argparse.Namespace) -> None:
    from logpipe.commands._common import logstash_settings
    if logstash_settings(args):
        raise ConfigError("with pipelines.yml, pipeline.workers, pipeline.batch.size, ... are set "
                          "per pipeline in pipelines.yml, not on the command line")


def check(args: argparse.Namespace, path: Path) -> int:
    from logpipe.config import pipelines_yml

    _refuse_flags(args)
    group = pipelines_yml.load(path)
    print(group.describe())
    notes = [*group.notes, *(f"pipeline {p.name}: {n}" for p in group.pipelines for n in p.notes)]
    if notes:
        print("notes:")
        for note in notes:
            print(f"  {note}")
    print("configuration OK")
    return 0


def run(args: argparse.Namespace, path: Path) -> int:
    from logpipe.commands.run import default_workers
    from logpipe.config import pipelines_yml
    from logpipe.runtime import logs

    _refuse_flags(args)
    group = pipelines_yml.load(path)
    settings = group.settings
    logs.setup(args.log_level or settings.log_level, args.log_format)
    import logging
    logging.getLogger("logpipe.pipelines").info("reading %s: pipelines %s", path,
                                                ", ".join(p.name for p in group.pipelines))
    workers = args.workers or settings.workers or default_workers(group)
    metrics_port = args.metrics_port if args.metrics_port is not None else settings.metrics_port
    if workers > 1 or metrics_port is not None:
        from logpipe.runtime.supervisor import supervise

        args.metrics_port = metrics_port
        group.source = str(path)
        return supervise(args, group, workers)  # type: ignore[arg-type]
    from logpipe.runtime.group import run_blocking_group

    return run_blocking_group(os.fspath(path), group)
