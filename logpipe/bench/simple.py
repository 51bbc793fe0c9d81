"""Scenario "simple": Apache combined lines through grok, date, GeoIP and user agent.

The pipeline most Logstash users start with (see :mod:`.simple_pipeline`),
into the blackhole, one worker and all workers; next to it the straight-line
loop of :mod:`.simple_reference`, measured the same way (fresh processes
released together, alternating, best of ``repeat`` rounds). logpipe's rate
over the loop's is the framework's efficiency on light per-event work, where
the framework's share is largest.
"""
from __future__ import annotations


from logpipe.bench.common import Options, Row, ScenarioResult, Target
from logpipe.bench.graphmemory import _wall, best_rounds

SUBJECTS = ("reference", "logpipe")


def run(options: Options) -> ScenarioResult:
    from logpipe.bench.simple_pipeline import make_pool
    from logpipe.bench.simple_reference import compare

    result = ScenarioResult("simple", "Apache combined -> grok, date, geoip, useragent -> blackhole, events/s")
    workers = options.worker_count
    pool_size = 3_000 if options.quick else 100_000
    rounds = 1 if options.quick else max(2, options.repeat)
    records = make_pool(pool_size)
    compared, identical, _ = compare(records[: 2_000 if options.quick else 20_000])
    result.extra["equivalence"] = {"documents": compared, "identical": identical}
    result.notes.append(f"reference and logpipe produced identical documents for {identical} of "
                        f"{compared} sample events")
    best = best_rounds(SUBJECTS, records, pool_size, workers, rounds, pipeline="simple")
    ref1, lp1 = best[("reference", 1)], best[("logpipe", 1)]
    refn, lpn = best[("reference", workers)], best[("logpipe", workers)]
    unit = "events/CPU-s"
    result.rows = [
        Row("reference loop, 1 process", ref1["cpu_rate"], unit, detail=_wall(ref1)),
        Row("logpipe, 1 worker", lp1["cpu_rate"], unit, ratio=lp1["cpu_rate"] / ref1["cpu_rate"],
            detail=_wall(lp1)),
        Row(f"reference loop, {workers} processes", refn["cpu_rate"], unit, detail=_wall(refn)),
        Row(f"logpipe, {workers} workers", lpn["cpu_rate"], unit, ratio=lpn["cpu_rate"] / refn["cpu_rate"],
            detail=_wall(lpn)),
    ]
    result.notes.append("figures are events per CPU-second (best round), as in graphmemory")
    result.targets = [
        Target("framework efficiency (1 worker)", lp1["cpu_rate"] / ref1["cpu_rate"], 0.7),
        Target(f"framework efficiency ({workers} workers)", lpn["cpu_rate"] / refn["cpu_rate"], 0.7),
    ]
    result.extra.update({"pool_events": pool_size, "rounds": rounds, "workers": workers,
                         "measurements": {f"{s}/{n}": v for (s, n), v in best.items()}})
    return result
