"""``logpipe run``: the service.

With more than one worker, or a metrics port, a supervisor process runs the
workers (``logpipe.runtime.supervisor``) and serves /metrics, /healthz, /readyz
and /stats. With one worker and no metrics port the pipeline runs in this very
process. Either way SIGTERM drains and SIGHUP reloads a checked configuration.
"""
from __future__ import annotations

import argparse
import os

from logpipe.commands._common import (
    add_pipeline_args,
    export_logstash_settings,
    load_pipeline,
    materialize_config_string,
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run a pipeline (or, naming none, every pipeline of pipelines.yml)")
    add_pipeline_args(p, required=False)
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes (default: settings.workers, else the CPU count when every "
                        "input can share its traffic, else 1)")
    p.add_argument("--metrics-port", type=int, default=None,
                   help="port of /metrics, /healthz, /readyz, /stats (overrides settings.metrics_port)")
    p.add_argument("--metrics-host", default=None,
                   help="address of the status endpoint (overrides settings.metrics_host; 0.0.0.0 in a pod)")
    p.add_argument("--log-format", choices=("auto", "json", "text"), default="auto")
    p.add_argument("--log-level", default=None)
    p.set_defaults(func=run)


def can_share(entry: object) -> bool:
    """Whether N copies of this input split its traffic rather than duplicate or fight over it.

    An input class may say so with ``shared_by_workers``; otherwise listeners with
    ``reuse_port`` (the kernel spreads connections), Kafka consumer groups and Redis
    lists (each item is popped once) share; Redis channels (every subscriber gets every
    message), stdin and the generator do not.
    """
    cls, config = getattr(entry, "cls", None), getattr(entry, "config", None)
    declared = getattr(cls, "shared_by_workers", None)
    if isinstance(declared, bool):
        return declared
    if getattr(config, "reuse_port", False) or getattr(config, "group_id", None):
        return True
    return getattr(entry, "type", "") == "redis" and getattr(config, "data_type", "list") == "list"


def default_workers(spec: object) -> int:
    """The CPU count when every input can be shared by worker processes, else 1."""
    inputs = list(getattr(spec, "inputs", ()))
    if inputs and all(can_share(e) for e in inputs):
        return os.cpu_count() or 1
    return 1


def run(args: argparse.Namespace) -> int:
    from logpipe.runtime import logs
    from logpipe.runtime.signals import hold_early_stop

    hold_early_stop()

    # Workers get their own values; these let a file that uses them load here too.
    os.environ.setdefault("LOGPIPE_WORKER_INDEX", "0")
    os.environ.setdefault("LOGPIPE_WORKER_COUNT", "1")
    from logpipe.commands import pipelines
    several = pipelines.pipelines_file(args)
    if several is not None:
        return pipelines.run(args, several)
    spec = load_pipeline(args)
    export_logstash_settings(args)
    materialize_config_string(args, spec)
    logs.setup(args.log_level or spec.settings.log_level, args.log_format)
    workers = args.workers or spec.settings.workers or default_workers(spec)
    metrics_port = args.metrics_port if args.metrics_port is not None else spec.settings.metrics_port
    if workers > 1 or metrics_port is not None:
        from logpipe.runtime.supervisor import supervise

        args.metrics_port = metrics_port
        return supervise(args, spec, workers)
    from logpipe.runtime.reload import run_blocking_reloadable

    return run_blocking_reloadable(spec.source, spec)
