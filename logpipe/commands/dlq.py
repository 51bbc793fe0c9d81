"""``logpipe dlq inspect|replay``: look into the dead-letter queue, send fixed events back.

Both kinds of queue are read: a Kafka topic (``--bootstrap-servers``/``--topic``,
or an elasticsearch output's own ``dead_letter_queue``, or the pipeline's
``dead_letter_queue: {type: kafka}``) and a directory of segment files
(``--dir``, or the pipeline's default file queue under ``path.data``).

``inspect`` reads without a consumer group and commits nothing. ``replay``
re-sends stored events to Elasticsearch (through the pipeline's elasticsearch
output, or ``--to-es URL``), remembering progress under ``--group`` as it goes
(Kafka offsets, or a progress file in the directory), so running it twice does
not repeat anything.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime, timezone
from typing import Any

from logpipe.errors import ConfigError


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--bootstrap-servers", metavar="HOST:PORT[,...]",
                   help="Kafka brokers (default: the pipeline's dead_letter_queue setting)")
    p.add_argument("--topic", help="dead-letter topic (default: the pipeline's, else logpipe-dlq)")
    p.add_argument("--pipeline", "-p", metavar="NAME|PATH",
                   help="take brokers, topic, security and the Elasticsearch output from this pipeline")
    p.add_argument("--config-dir", metavar="DIR", help="where to look for pipelines/NAME.yaml")
    p.add_argument("--dir", metavar="PATH",
                   help="a file dead-letter queue (segment files) instead of a Kafka topic")
    p.add_argument("--output-id", metavar="ID",
                   help="which elasticsearch output of the pipeline (default: the first with a "
                        "dead_letter_queue)")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dlq", help="inspect and replay the dead-letter queue")
    dsub = p.add_subparsers(dest="dlq_command", metavar="inspect|replay")
    dsub.required = True

    ins = dsub.add_parser("inspect", help="show dead-lettered events and why (commits nothing)")
    _common(ins)
    ins.add_argument("--reason-type", metavar="TYPE", help="only this error type "
                     "(e.g. document_parsing_exception)")
    ins.add_argument("--index", help="only records meant for this index")
    ins.add_argument("--since", metavar="ISO-TIME", help="only records written at or after this time")
    ins.add_argument("--limit", type=int, metavar="N", help="stop after N records")
    ins.add_argument("--json", action="store_true", help="one JSON record per line")
    ins.set_defaults(func=run_inspect)

    rep = dsub.add_parser("replay", help="re-send dead-lettered events to Elasticsearch")
    _common(rep)
    rep.add_argument("--to-es", metavar="URL", help="Elasticsearch URL (instead of, or overriding, "
                                                    "the pipeline's output)")
    rep.add_argument("--group", default="logpipe-dlq-replay",
                     help="consumer group that remembers what was replayed")
    rep.add_argument("--rate", type=float, metavar="N", help="at most N events per second")
    rep.add_argument("--batch-size", type=int, default=500, metavar="N", help="events per bulk batch")
    rep.add_argument("--use-output-index", action="store_true",
                     help="route by the output's index setting instead of the index in each record")
    rep.add_argument("--skip-rejected", action="store_true",
                     help="log and pass over events Elasticsearch still rejects (default: stop)")
    rep.set_defaults(func=run_replay)


def _parse_time(text: str) -> datetime:
    from logpipe.core.timestamps import parse_iso

    parsed = parse_iso(text)
    if parsed is None:
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise ConfigError(f"--since: not an ISO 8601 time: {text!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _pipeline_output(args: argparse.Namespace) -> Any | None:
    """The elasticsearch output entry the DLQ settings and replay target come from."""
    if not args.pipeline:
        return None
    from logpipe.commands._common import load_pipeline
    from logpipe.outputs.elasticsearch.config import ElasticsearchConfig

    spec = load_pipeline(args)
    outputs = [e for e in spec.outputs if isinstance(e.config, ElasticsearchConfig)]
    if args.output_id:
        outputs = [e for e in outputs if e.id == args.output_id]
        if not outputs:
            raise ConfigError(f"pipeline {spec.name} has no elasticsearch output {args.output_id!r}")
    if not outputs:
        raise ConfigError(f"pipeline {spec.name} has no elasticsearch output")
    with_dlq = [e for e in outputs if getattr(e.config, "dead_letter_queue", None) is not None]
    return (with_dlq or outputs)[0]


def dlq_config(args: argparse.Namespace, entry: Any | None) -> Any:
    from logpipe.dlq.config import DeadLetterQueueConfig

    base = entry.config.dead_letter_queue if entry is not None else None
    update: dict[str, Any] = {}
    if args.bootstrap_servers:
        update["bootstrap_servers"] = args.bootstrap_servers
    if args.topic:
        update["topic"] = args.topic
    if base is not None:
        return base.model_copy(update=update)
    if "bootstrap_servers" not in update:
        raise ConfigError("name --bootstrap-servers (or a --pipeline whose elasticsearch output "
                          "has a dead_letter_queue)")
    return DeadLetterQueueConfig(**update)


def queue_source(args: argparse.Namespace) -> tuple[str, Any]:
    """("directory", path) or ("kafka", DeadLetterQueueConfig): which queue to read."""
    if getattr(args, "dir", None):
        return "directory", args.dir
    if args.bootstrap_servers or not args.pipeline:
        return "kafka", dlq_config(args, _pipeline_output(args) if args.pipeline else None)
    from logpipe.commands._common import load_pipeline

    spec = load_pipeline(args)
    try:
        entry = _pipeline_output(args)
    except ConfigError:
        entry = None
    if entry is not None and getattr(entry.config, "dead_letter_queue", None) is not None:
        return "kafka", dlq_config(args, entry)
    settings = spec.settings
    queue = settings.dead_letter_queue
    if queue.type == "kafka" and queue.kafka is not None:
        base = queue.kafka
        update = {"topic": args.topic} if args.topic else {}
        return "kafka", base.model_copy(update=update)
    root = settings.path_dead_letter_queue or f"{settings.path_data}/dead_letter_queue"
    return "directory", f"{root}/{spec.name}"


def run_inspect(args: argparse.Namespace) -> int:
    from logpipe.dlq.reader import Selection

    kind, source = queue_source(args)
    selection = Selection(reason_type=args.reason_type, index=args.index,
                          since=_parse_time(args.since) if args.since else None)
    if args.limit is not None and args.limit < 1:
        raise ConfigError("--limit must be at least 1")
    if kind == "directory":
        return _inspect_directory(source, selection, args.limit, args.json)
    return asyncio.run(_inspect(source, selection, args.limit, args.json))


def _show(entry: Any, where: str, as_json: bool) -> None:
    import orjson

    if as_json:
        out = {"partition": entry.partition, "offset": entry.offset, "key": entry.key, **entry.record}
        sys.stdout.write(orjson.dumps(out).decode() + "\n")
        return
    err = entry.record.get("error") or {}
    sys.stdout.write(
        f"{where} {entry.record.get('time', '?')} plugin={entry.record.get('plugin_id')} "
        f"index={entry.index} id={entry.key} status={err.get('status')} "
        f"{entry.reason_type}: {err.get('reason', '')}\n")


def _inspect_directory(path: str, selection: Any, limit: int | None, as_json: bool) -> int:
    from logpipe.dlq.local import entries

    count = 0
    try:
        for segment, entry in entries(path, selection, limit):
            count += 1
            _show(entry, f"{segment.name}:{entry.offset}", as_json)
    except LookupError as exc:
        print(f"logpipe dlq: {exc}", file=sys.stderr)
        return 1
    if not as_json:
        print(f"{count} records", file=sys.stderr)
    return 0


async def _inspect(cfg: Any, selection: Any, limit: int | None, as_json: bool) -> int:
    from logpipe.dlq.reader import read

    count = 0
    try:
        async for entry in read(cfg, selection, limit):
            count += 1
            _show(entry, f"{entry.partition}:{entry.offset}", as_json)
    except LookupError as exc:
        print(f"logpipe dlq: {exc}", file=sys.stderr)
        return 1
    if not as_json:
        print(f"{count} records", file=sys.stderr)
    return 0


def run_replay(args: argparse.Namespace) -> int:
    from logpipe.dlq.replay import replay_config

    entry = _pipeline_output(args)
    if entry is None and not args.to_es:
        raise ConfigError("name --pipeline (its elasticsearch output) or --to-es URL")
    cfg = queue_source(args)
    out_cfg = replay_config(entry.config if entry is not None else None, to_es=args.to_es,
                            use_output_index=args.use_output_index, skip_rejected=args.skip_rejected)
    if args.rate is not None and args.rate <= 0:
        raise ConfigError("--rate must be positive")
    return asyncio.run(_replay(cfg, out_cfg, args))


async def _replay(cfg: Any, out_cfg: Any, args: argparse.Namespace) -> int:
    from logpipe.core.plugin import PluginContext
    from logpipe.dlq.replay import replay
    from logpipe.errors import DeliveryError
    from logpipe.outputs.elasticsearch import ElasticsearchOutput

    kind, source = cfg
    output = ElasticsearchOutput(out_cfg, id="dlq-replay", context=PluginContext(pipeline="dlq-replay"))
    await output.start()
    try:
        if kind == "directory":
            from logpipe.dlq.local import replay_directory

            stats = await replay_directory(source, output, group=args.group, rate=args.rate,
                                           batch_size=args.batch_size)
        else:
            stats = await replay(source, output, group=args.group, rate=args.rate,
                                 batch_size=args.batch_size)
    except DeliveryError as exc:
        print(f"logpipe dlq replay: stopped, batch not committed: {exc}", file=sys.stderr)
        return 1
    except LookupError as exc:
        print(f"logpipe dlq: {exc}", file=sys.stderr)
        return 1
    finally:
        await output.stop()
    rejected = output.counters.rejected
    note = f", {rejected} still rejected and passed over" if rejected else ""
    where = source if kind == "directory" else source.topic
    print(f"replayed {stats.replayed - rejected} events from {where} ({stats.read} records "
          f"read, {stats.skipped} without an event{note}) under group {args.group}")
    return 0
