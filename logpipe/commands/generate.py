"""``logpipe generate``: realistic GraphMemory traffic to stdout, a file or an input."""
from __future__ import annotations

import argparse
import asyncio
import sys
import time


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help="generate realistic GraphMemory traffic")
    p.add_argument("--count", type=int, default=1000, help="records to send (0: until interrupted)")
    p.add_argument("--rate", type=float, default=None, help="records per second (default: as fast as possible)")
    p.add_argument("--to", dest="targets", action="append", default=None, metavar="TARGET",
                   help="stdout, file:PATH, http://HOST:PORT/PATH, beats://HOST:PORT, "
                        "kafka://HOST:PORT/TOPIC, redis://HOST:PORT/DB?key=KEY; repeat to spread traffic")
    p.add_argument("--batch", type=int, default=500, help="records per request/window")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--formats", choices=["graphmemory", "all"], default="graphmemory",
                   help="access formats: GraphMemory's nginx and uvicorn lines, or every common "
                        "one (nginx combined/main, Apache, gunicorn, nginx JSON) as well")
    p.add_argument("--run-id", default="gen", help="prefix of the request ids, for accounting")
    p.add_argument("--token", default=None, help="bearer token for the HTTP input")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


async def _generate(args: argparse.Namespace) -> int:
    from logpipe.generate.sinks import open_sink
    from logpipe.generate.traffic import TrafficModel

    targets = args.targets or ["stdout"]
    sinks = [open_sink(t, token=args.token) for t in targets]
    for s in sinks:
        await s.open()
    model = TrafficModel(seed=args.seed, run_id=args.run_id, formats=args.formats)
    show = not args.no_progress and sys.stderr.isatty() and targets != ["stdout"]
    progress = None
    task = None
    if show:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
        progress = Progress(TextColumn("generating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                            transient=True)
        progress.start()
        task = progress.add_task("gen", total=args.count or None)
    sent = 0
    started = time.monotonic()
    turn = 0
    try:
        while args.count == 0 or sent < args.count:
            n = args.batch if args.count == 0 else min(args.batch, args.count - sent)
            records = model.take(n)
            await sinks[turn % len(sinks)].send(records)
            turn += 1
            sent += n
            if progress is not None and task is not None:
                progress.update(task, completed=sent)
            if args.rate:
                ahead = sent / args.rate - (time.monotonic() - started)
                if ahead > 0:
                    await asyncio.sleep(ahead)
    finally:
        if progress is not None:
            progress.stop()
        for s in sinks:
            await s.close()
    elapsed = time.monotonic() - started
    if targets != ["stdout"]:
        print(f"sent {sent} records in {elapsed:.2f}s ({sent / max(elapsed, 1e-9):.0f}/s)", file=sys.stderr)
    return 0


def run(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_generate(args))
    except KeyboardInterrupt:
        return 130
    except (OSError, RuntimeError, ValueError) as exc:
        print(f"logpipe generate: {exc}", file=sys.stderr)
        return 1
