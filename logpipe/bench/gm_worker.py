"""One measuring process of the graphmemory scenario (logpipe or the reference loop).

    python -m logpipe.bench.gm_worker --subject logpipe|reference|reference_v1 --pool FILE --count N
        [--pipeline graphmemory|simple]

With ``--pool-size N`` instead of ``--pool`` it makes its own pool, and with
``--no-wait`` it starts at once: that is the way to profile one subject, e.g.
``py-spy record -o gm.svg -- python -m logpipe.bench.gm_worker --subject logpipe
--pool-size 60000 --no-wait``.

The process sets everything up (imports, databases, rule sets, the pool in
memory), prints ``ready``, and waits for a line on stdin before it starts the
clock, so that several processes started together measure the same interval.
It ends by printing one JSON line: events, start and end (``perf_counter``,
the system-wide monotonic clock on Linux, comparable across processes), and
the CPU seconds the process used while measuring.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Literal

import orjson

from logpipe.bench.pool import ensure_scrub_key, make_pool, read_pool, write_pool


_WAIT = True


def _wait_for_go() -> None:
    if not _WAIT:
        return
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    sys.stdin.readline()


#: Pipeline -> subject -> the module of its straight-line loop.
LOOPS = {"graphmemory": {"reference": "reference", "reference_v1": "reference_v1"},
         "simple": {"reference": "simple_reference"}}


def run_reference(pool: str, count: int, batch: int, module: str = "reference") -> dict[str, Any]:
    import importlib

    from logpipe.runtime.runner import tune_collector

    mod = importlib.import_module(f"logpipe.bench.{module}")
    run_loop = mod.run_loop
    lines = read_pool(pool)
    ref = mod.Reference()
    # The collector settings of a logpipe worker, so both subjects are measured alike.
    tune_collector()
    _wait_for_go()
    cpu = time.process_time()
    start = time.perf_counter()
    done = run_loop(ref, lines, count, batch)
    end = time.perf_counter()
    return {"events": done, "start": start, "end": end, "cpu": time.process_time() - cpu}


def run_logpipe(pool: str, count: int, batch: int, pipeline_name: str = "graphmemory",
                filter_thread: bool | Literal["auto"] = "auto") -> dict[str, Any]:
    from logpipe.bench import pool_input, simple_pipeline
    from logpipe.bench.pipelines import load_variant
    from logpipe.core.pipeline import Pipeline
    from logpipe.runtime.runner import install_loop_policy

    pool_input.register()
    inputs: list[dict[str, Any]] = [{"type": pool_input.NAME, "file": pool, "count": count, "batch": batch}]
    load = simple_pipeline.load if pipeline_name == "simple" else load_variant
    spec = load(inputs, [{"type": "blackhole"}])
    spec.settings.filter_thread = filter_thread

    async def main() -> dict[str, Any]:
        pipeline = Pipeline(spec)
        source = pipeline.inputs[0]
        go = source.go = asyncio.Event()  # type: ignore[attr-defined]
        await pipeline.start()
        await asyncio.get_running_loop().run_in_executor(None, _wait_for_go)
        cpu = time.process_time()
        go.set()
        await pipeline.inputs_done()
        cpu = time.process_time() - cpu
        await pipeline.shutdown(30.0)
        return {**source.figures(), "cpu": cpu}  # type: ignore[attr-defined]

    install_loop_policy()
    return asyncio.run(main())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m logpipe.bench.gm_worker")
    p.add_argument("--subject", choices=("logpipe", "reference", "reference_v1"), required=True)
    p.add_argument("--pipeline", choices=tuple(LOOPS), default="graphmemory")
    p.add_argument("--pool", help="pool file (logpipe.bench.pool); else --pool-size makes one")
    p.add_argument("--pool-size", type=int, default=60_000)
    p.add_argument("--count", type=int, default=0, help="events to process (default: the pool once)")
    p.add_argument("--batch", type=int, default=500)
    p.add_argument("--no-wait", action="store_true", help="start at once (for profilers)")
    p.add_argument("--filter-thread", choices=("auto", "true", "false"), default="auto",
                   help="logpipe: the pipeline's filter_thread setting (logpipe.core.filter_runner)")
    args = p.parse_args(argv)
    global _WAIT
    _WAIT = not args.no_wait
    ensure_scrub_key()

    def run(pool: str, count: int, batch: int) -> dict[str, Any]:
        if args.subject == "logpipe":
            return run_logpipe(pool, count, batch, args.pipeline,
                               "auto" if args.filter_thread == "auto" else args.filter_thread == "true")
        if args.subject not in LOOPS[args.pipeline]:
            p.error(f"no {args.subject} loop for the {args.pipeline} pipeline")
        return run_reference(pool, count, batch, LOOPS[args.pipeline][args.subject])

    with tempfile.TemporaryDirectory() as tmp:
        pool = args.pool
        if pool is None:
            pool = str(Path(tmp) / "pool.ndjson")
            if args.pipeline == "simple":
                from logpipe.bench.simple_pipeline import make_pool as make_simple_pool
                write_pool(Path(pool), make_simple_pool(args.pool_size))
            else:
                write_pool(Path(pool), make_pool(args.pool_size))
        count = args.count or len(read_pool(pool))
        result = run(pool, count, args.batch)
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
