"""Scenario "graphmemory": the full GraphMemory filter chain, events per second.

Generated GraphMemory traffic (nginx and uvicorn access lines as ``message``,
application logs as objects) goes through every filter of
``pipelines/graphmemory.yaml`` into the blackhole output, in one process (a
worker, one core) and in as many processes as there are CPUs started together
(all workers). Next to it, two straight-line loops do the same work with no
framework, measured the same ways: :mod:`.reference_v1`, the loop as it was
when issue 18 was filed (frozen: logpipe's rate over its rate is the speed-up
since then, goal 2.5x), and :mod:`.reference`, the loop kept up to date with
the native libraries logpipe uses now (logpipe's rate over its rate is the
framework's efficiency, goal 0.8). Before measuring, each loop and logpipe
run over a sample of the pool and their documents are compared, so the
yardsticks are known to do the same work.

Subjects run in fresh processes, alternating, best of ``repeat`` rounds: the
machine is shared, and the best round is the least disturbed one.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import orjson

from logpipe.bench.common import Options, Row, ScenarioResult, Target, child_env
from logpipe.bench.pool import ensure_scrub_key, make_pool, write_pool

SUBJECTS = ("reference_v1", "reference", "logpipe")


def _spawn(subject: str, pool: Path, count: int, pipeline: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "logpipe.bench.gm_worker", "--subject", subject, "--pool", str(pool),
         "--count", str(count), "--pipeline", pipeline],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=child_env())


def measure(subject: str, pool: Path, count: int, processes: int,
            pipeline: str = "graphmemory") -> dict[str, Any]:
    """Start ``processes`` copies, release them together, and combine their figures."""
    procs = [_spawn(subject, pool, count, pipeline) for _ in range(processes)]
    try:
        for proc in procs:
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()
            if line != "ready":
                raise RuntimeError(f"{subject} worker failed to start (said {line!r})")
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = []
        for proc in procs:
            assert proc.stdout is not None
            results.append(orjson.loads(proc.stdout.readline()))
            proc.wait(timeout=60)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    events = sum(r["events"] for r in results)
    seconds = max(r["end"] for r in results) - min(r["start"] for r in results)
    cpu = sum(r["cpu"] for r in results)
    return {"events": events, "seconds": seconds, "rate": events / seconds,
            "cpu_rate": events / cpu if cpu > 0 else 0.0}


def best_rounds(subjects: tuple[str, ...], records: list[Any], count: int, workers: int,
                rounds: int, pipeline: str = "graphmemory") -> dict[tuple[str, int], dict[str, Any]]:
    """Each subject on one process and on ``workers``, ``rounds`` times in alternating
    order; per (subject, processes) the round with the best rate per CPU-second."""
    best: dict[tuple[str, int], dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        pool = Path(tmp) / "pool.ndjson"
        write_pool(pool, records)
        for round_no in range(rounds):
            order = subjects if round_no % 2 == 0 else tuple(reversed(subjects))
            for processes in sorted({1, workers}):
                for subject in order:
                    got = measure(subject, pool, count, processes, pipeline)
                    key = (subject, processes)
                    if key not in best or got["cpu_rate"] > best[key]["cpu_rate"]:
                        best[key] = got
    return best


def _wall(m: dict[str, Any]) -> str:
    return f"wall clock {m['rate']:,.0f} events/s"


def run(options: Options) -> ScenarioResult:
    from logpipe.bench import reference, reference_v1

    ensure_scrub_key()
    result = ScenarioResult("graphmemory", "GraphMemory filters -> blackhole, events/s")
    workers = options.worker_count
    pool_size = 3_000 if options.quick else 60_000
    count = pool_size
    rounds = 1 if options.quick else max(2, options.repeat)
    records = make_pool(pool_size)

    sample = records[: 2_000 if options.quick else 20_000]
    for label, module in (("", reference), ("_v1", reference_v1)):
        compared, identical, _ = module.compare(sample)
        result.extra[f"equivalence{label}"] = {"documents": compared, "identical": identical}
        result.notes.append(f"reference{label} and logpipe produced identical documents for {identical} "
                            f"of {compared} sample events (brute-force detection off for the check: "
                            "it depends on event order)")

    best = best_rounds(SUBJECTS, records, count, workers, rounds)

    v1, ref1, lp1 = best[("reference_v1", 1)], best[("reference", 1)], best[("logpipe", 1)]
    v1n, refn, lpn = (best[("reference_v1", workers)], best[("reference", workers)],
                      best[("logpipe", workers)])
    per_worker = lp1["cpu_rate"]
    unit = "events/CPU-s"
    result.rows = [
        Row("reference_v1 loop (frozen), 1 process", v1["cpu_rate"], unit, detail=_wall(v1)),
        Row("reference loop (current), 1 process", ref1["cpu_rate"], unit, ratio=ref1["cpu_rate"] / v1["cpu_rate"],
            detail=_wall(ref1)),
        Row("logpipe, 1 worker", per_worker, unit, ratio=per_worker / v1["cpu_rate"],
            detail=f"{per_worker / ref1['cpu_rate']:.2f} of the current reference; {_wall(lp1)}"),
        Row(f"reference_v1 loop, {workers} processes", v1n["cpu_rate"], unit, detail=_wall(v1n)),
        Row(f"reference loop, {workers} processes", refn["cpu_rate"], unit,
            ratio=refn["cpu_rate"] / v1n["cpu_rate"], detail=_wall(refn)),
        Row(f"logpipe, {workers} workers", lpn["cpu_rate"], unit, ratio=lpn["cpu_rate"] / v1n["cpu_rate"],
            detail=f"{lpn['cpu_rate'] / refn['cpu_rate']:.2f} of the current reference; {_wall(lpn)}"),
    ]
    result.notes.append("figures are events per CPU-second of the measuring processes (best round): "
                        "on a shared machine the wall-clock rate (in each detail) measures the other "
                        "tenants as much as the code; ratios in the table are to reference_v1 (the "
                        "frozen loop), efficiency (to the current loop) is in the details and the targets")
    result.targets = [
        Target("events per CPU-second per worker", per_worker, 100_000, ">=", "events/s"),
        Target("per worker vs reference_v1 (1 worker)", per_worker / v1["cpu_rate"], 2.5),
        Target(f"vs reference_v1 ({workers} workers)", lpn["cpu_rate"] / v1n["cpu_rate"], 2.5),
        Target("framework efficiency (1 worker, vs current reference)", per_worker / ref1["cpu_rate"], 0.8),
        Target(f"framework efficiency ({workers} workers, vs current reference)",
               lpn["cpu_rate"] / refn["cpu_rate"], 0.8),
    ]
    result.extra.update({
        "pool_events": pool_size, "events_per_process": count, "rounds": rounds, "workers": workers,
        "measurements": {f"{s}/{n}": v for (s, n), v in best.items()},
    })
    return result

