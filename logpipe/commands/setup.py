"""``logpipe setup``: install lifecycle policies and index templates, bootstrap write aliases.

The cluster (hosts, credentials, TLS) comes from the pipeline's elasticsearch
outputs, or from ``--es URL``. Idempotent: a second run prints "no changes".
What the cluster does not support (no ILM on a minimal node) is left out with
a warning, and the exit status stays 0; errors (a refused template, an index
squatting on an alias name) exit 1.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from logpipe.errors import ConfigError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("setup", help="install lifecycle policies and index templates; "
                                     "bootstrap write indices")
    p.add_argument("--pipeline", "-p", metavar="NAME|PATH",
                   help="take the cluster from this pipeline's elasticsearch outputs")
    p.add_argument("--config-dir", metavar="DIR", help="where to look for pipelines/NAME.yaml")
    p.add_argument("--es", metavar="URL", help="Elasticsearch URL (overrides the pipeline's hosts)")
    p.add_argument("--resources", metavar="DIR",
                   help="directory holding ilm/ and index_templates/ (default: the working "
                        "directory, else --config-dir, else the ones shipped with logpipe)")
    p.add_argument("--dry-run", action="store_true", help="show what would change, change nothing")
    p.set_defaults(func=run)


def cluster_configs(args: argparse.Namespace) -> list[Any]:
    """One ElasticsearchConfig per distinct cluster to set up."""
    return _clusters(args)[0]


def _clusters(args: argparse.Namespace) -> tuple[list[Any], Any]:
    """The clusters to set up, and the pipeline (None without --pipeline)."""
    from logpipe.outputs.elasticsearch.config import ElasticsearchConfig

    configs: list[ElasticsearchConfig] = []
    spec = None
    if args.pipeline:
        from logpipe.commands._common import load_pipeline

        spec = load_pipeline(args)
        configs = [e.config for e in spec.outputs if isinstance(e.config, ElasticsearchConfig)]
        if not configs and not args.es:
            raise ConfigError(f"pipeline {spec.name} has no elasticsearch output; use --es URL")
    if args.es:
        configs = [c.model_copy(update={"hosts": [args.es]}) for c in configs[:1]] or \
                  [ElasticsearchConfig(hosts=[args.es])]
    if not configs:
        raise ConfigError("name a --pipeline or an --es URL")
    seen: set[tuple[str, ...]] = set()
    unique = []
    for cfg in configs:
        key = tuple(cfg.hosts)
        if key not in seen:
            seen.add(key)
            unique.append(cfg)
    return unique, spec


def run(args: argparse.Namespace) -> int:
    from logpipe.setup.resources import load

    configs, spec = _clusters(args)
    resources = load(args.resources, getattr(args, "config_dir", None))
    if spec is not None:
        resources = _for_pipeline(spec, resources)
    status = 0
    for cfg in configs:
        status = max(status, asyncio.run(_setup(cfg, resources, args.dry_run)))
    return status


def _for_pipeline(spec: Any, resources: Any) -> Any:
    """Templates and write aliases for the indices the pipeline's outputs will write
    (prefix and categories as resolved), instead of the shipped names."""
    from logpipe.setup.targets import pipeline_indices, retarget

    targets = pipeline_indices(spec.outputs, spec.filters)
    for ref in targets.unresolved:
        _say(f"warning: the index of an elasticsearch output depends on %{{{ref}}}, which no "
             "filter sets to a fixed value: setup cannot tell which indices it will write")
    if not targets.names:
        return resources
    _say("indices written by pipeline " + spec.name + ": " + ", ".join(targets.names))
    selected, warnings = retarget(resources, targets.names)
    for warning in warnings:
        _say(f"warning: {warning}")
    return selected


def _say(text: str = "") -> None:
    print(text, flush=True)


async def _setup(cfg: Any, resources: Any, dry_run: bool) -> int:
    from elastic_transport import TransportError
    from elasticsearch import AsyncElasticsearch

    from logpipe.outputs.elasticsearch.service import client_options
    from logpipe.setup.client import Cluster
    from logpipe.setup.installer import Installer

    opts = client_options(cfg)
    opts.update(max_retries=2, request_timeout=30)
    cluster = Cluster(AsyncElasticsearch(**opts))
    where = ", ".join(cfg.hosts)
    try:
        installer = Installer(cluster, resources)
        try:
            report = await installer.plan()
        except (TransportError, RuntimeError) as exc:
            print(f"logpipe setup: cannot read the cluster at {where}: {exc}", file=sys.stderr)
            return 1
        _say(f"Elasticsearch {report.capabilities.version} at {where}")
        for warning in report.warnings:
            _say(f"warning: {warning}")
        if not dry_run and report.changes:
            await installer.apply(report)
        for step in report.steps:
            _say(_line(step, dry_run))
            if step.diff and step.action in ("update", "failed"):
                for diff_line in step.diff.splitlines():
                    _say(f"    {diff_line}")
        for error in report.errors:
            print(f"error: {error}", file=sys.stderr)
        conflicts = [s for s in report.steps if s.action == "conflict"]
        changed = [s for s in report.steps if s.changes]
        if not changed:
            _say("no changes")
        elif dry_run:
            _say(f"{len(changed)} changes would be made (dry run: nothing changed)")
        else:
            _say(f"{len(changed)} changes applied")
        return 1 if report.errors or conflicts else 0
    finally:
        await cluster.close()


def _line(step: Any, dry_run: bool) -> str:
    verb = {"create": "would create" if dry_run else "created",
            "update": "would update" if dry_run else "updated",
            "unchanged": "unchanged", "skip": "skipped", "conflict": "CONFLICT",
            "failed": "FAILED"}.get(step.action, step.action)
    note = f" ({step.note})" if step.note else ""
    return f"{step.kind} {step.name}: {verb}{note}"
