"""``logpipe bench``: the benchmark suite, a table on the terminal and JSON for tracking.

Scenarios (all by default; ``--scenario`` repeats to pick several):

- ``regex``: Vector's regex-parsing case over TCP, next to a bare asyncio loop
  and syslog-ng when installed (MiB/s);
- ``graphmemory``: the GraphMemory filters into the blackhole, next to a
  straight-line loop doing the same work (events/s, per worker and all workers);
- ``e2e``: HTTP and Kafka in, Elasticsearch out, next to a direct ``_bulk``
  loader (needs the local Elasticsearch and Kafka);
- ``latency``: HTTP input to Elasticsearch acknowledgement at half the maximum rate;
- ``memory``: resident memory per worker, steady and under a flood with the
  output stalled.

``--quick`` makes every scenario tiny (seconds) so that tests can check the
suite runs; its figures mean nothing.
"""
from __future__ import annotations

import argparse
import sys
import time


def add_parser(sub: argparse._SubParsersAction) -> None:
    from logpipe.bench import SCENARIOS

    p = sub.add_parser("bench", help="run the benchmark suite",
                       description="Run benchmark scenarios on this machine; print a table and "
                                   "write JSON.")
    p.add_argument("--scenario", "-s", dest="scenarios", action="append", choices=SCENARIOS,
                   metavar="NAME", help=f"run only this scenario (repeatable): {', '.join(SCENARIOS)}")
    p.add_argument("--quick", action="store_true",
                   help="tiny runs (seconds each), to check that everything works")
    p.add_argument("--json", dest="json_path", default="logpipe-bench.json", metavar="PATH",
                   help="where to write the results ('-' for stdout; default: %(default)s)")
    p.add_argument("--workers", type=int, default=0,
                   help="worker processes for the all-workers figures (default: the CPU count)")
    p.add_argument("--repeat", type=int, default=2,
                   help="rounds per scenario; the best round counts (default: %(default)s)")
    p.add_argument("--es-url", default="http://127.0.0.1:9200", help="Elasticsearch for e2e and latency")
    p.add_argument("--kafka-bootstrap", default="127.0.0.1:9092", help="Kafka for e2e")
    p.add_argument("--no-pin-cores", dest="pin_cores", action="store_false",
                   help="e2e: leave Elasticsearch and logpipe on every core (default: pin them "
                        "apart with taskset for the measurement)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import importlib

    from rich.console import Console

    from logpipe.bench import SCENARIOS
    from logpipe.bench.common import Options, ScenarioResult
    from logpipe.bench.report import document, print_results, write_json

    options = Options(quick=args.quick, workers=args.workers, repeat=max(1, args.repeat),
                      es_url=args.es_url.rstrip("/"), kafka_bootstrap=args.kafka_bootstrap,
                      pin_cores=args.pin_cores)
    wanted = [s for s in SCENARIOS if s in (args.scenarios or SCENARIOS)]
    console = Console(stderr=args.json_path == "-")
    results: list[ScenarioResult] = []
    failed = False
    for name in wanted:
        console.print(f"[bold]bench[/bold] {name}{' (quick)' if args.quick else ''} ...")
        module = importlib.import_module(f"logpipe.bench.{name}")
        started = time.perf_counter()
        try:
            res: ScenarioResult = module.run(options)
        except Exception as exc:  # noqa: BLE001 - one broken scenario must not hide the others
            failed = True
            res = ScenarioResult(name, name, skipped=f"failed: {type(exc).__name__}: {exc}")
            console.print_exception()
        res.seconds = time.perf_counter() - started
        results.append(res)
    print_results(results, console)
    write_json(args.json_path, document(results, quick=args.quick))
    if args.json_path != "-":
        console.print(f"results written to {args.json_path}")
    return 1 if failed else 0


if __name__ == "__main__":  # pragma: no cover
    from logpipe.cli import main
    sys.exit(main(["bench", *sys.argv[1:]]))
