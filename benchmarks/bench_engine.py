"""Framework cost: generator -> mutate -> blackhole on one worker, next to a plain loop.

Both sides build the same events (a dict with a timestamp and a message) and do
the same mutation (add a field, rename one, uppercase one, add a tag); the ratio
of their rates is how much of the time the framework itself takes.

The pipeline runs twice, with filters in their own thread (the default, so the
event loop keeps serving I/O while filters work) and on the event loop
(``filter_thread: false``), alternating, so the cost of the thread hand-off is
measured in the same run.

    python benchmarks/bench_engine.py [--events N] [--json]
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import datetime, timezone
from typing import Any

import orjson

PIPELINE = """
settings: {{batch_size: 1000, pipeline_workers: 1, batch_delay_ms: 0, filter_thread: {thread}}}
inputs:
  - type: generator
    count: {count}
    batch: 1000
    message: "GET /api/memories 200"
filters:
  - type: mutate
    add_field: {{"[service][name]": "graphmemory-api"}}
    rename: {{"message": "[event][original]"}}
    uppercase: ["[service][name]"]
    add_tag: ["bench"]
outputs:
  - type: blackhole
"""


def reference_loop(count: int) -> float:
    """The same work with no framework: make dicts, mutate them, count them."""
    started = time.perf_counter()
    utc = timezone.utc
    seen = 0
    batch = 1000
    seq = 0
    while seq < count:
        ts = datetime.now(utc)
        docs = []
        for _ in range(min(batch, count - seq)):
            docs.append({"@timestamp": ts, "message": "GET /api/memories 200", "sequence": seq})
            seq += 1
        for d in docs:
            d.setdefault("service", {})["name"] = "graphmemory-api"
            d.setdefault("event", {})["original"] = d.pop("message")
            d["service"]["name"] = d["service"]["name"].upper()
            tags = d.setdefault("tags", [])
            if "bench" not in tags:
                tags.append("bench")
        seen += len(docs)
    assert seen == count
    return time.perf_counter() - started


def framework(count: int, thread: bool = True) -> float:
    from logpipe.config import load_text
    from logpipe.core.pipeline import Pipeline
    from logpipe.runtime.runner import install_loop_policy

    install_loop_policy()
    spec = load_text(PIPELINE.format(count=count, thread=str(thread).lower()),
                     source="bench_engine.yaml")

    async def go() -> float:
        p = Pipeline(spec)
        started = time.perf_counter()
        ok = await p.run()
        elapsed = time.perf_counter() - started
        assert ok and p.outputs[0].count == count  # type: ignore[attr-defined]
        return elapsed

    return asyncio.run(go())


def run(count: int) -> dict[str, Any]:
    framework(min(count, 20_000))  # warm caches and imports
    ref = min(reference_loop(count) for _ in range(3))
    threaded: list[float] = []
    on_loop: list[float] = []
    for _ in range(3):
        threaded.append(framework(count, thread=True))
        on_loop.append(framework(count, thread=False))
    ours, loop_only = min(threaded), min(on_loop)
    return {
        "scenario": "engine: generator -> mutate -> blackhole (1 worker)",
        "events": count,
        "logpipe_events_per_s": round(count / ours),
        "reference_events_per_s": round(count / ref),
        "ratio": round(ref / ours, 3),
        "filters_on_loop_events_per_s": round(count / loop_only),
        "filter_thread_cost": round(1 - loop_only / ours, 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = run(args.events)
    if args.json:
        sys.stdout.write(orjson.dumps(result).decode() + "\n")
    else:
        for k, v in result.items():
            print(f"{k:>24}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
