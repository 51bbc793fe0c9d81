"""What a pipeline-to-pipeline hop costs, next to the same events in one pipeline.

    python benchmarks/bench_pipeline_hop.py [--events N] [--repeat R]

Three shapes run in this process, one after the other, best of R rounds each, CPU
time of this process:

- ``direct``: generator -> blackhole in one pipeline;
- ``one hop``: generator -> pipeline output -> pipeline input -> blackhole;
- ``fork x2``: generator -> pipeline output sending to two pipelines -> blackhole each.

Events are small (a ``message`` of about 100 bytes and the generator's fields). The hop
copies every event per address (the receivers' filters must not see each other's
changes) and waits for the receiving pipeline to settle them; the ratio to ``direct``
is the figure to compare between machines.
"""
from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from logpipe.config import pipelines_yml
from logpipe.runtime.group import PipelineGroup

MESSAGE = "203.0.113.9 - - [12/Jan/2025:10:00:00 +0000] \"GET /api/v1/memories HTTP/1.1\" 200 512"
SETTINGS = ("  pipeline.workers: 2\n  pipeline.batch.size: 500\n  pipeline.batch.delay: 5\n"
            "  dead_letter_queue.enable: false\n")


def shapes(events: int) -> dict[str, str]:
    gen = f'input {{ generator {{ count => {events} batch => 500 lines => ["{MESSAGE.replace(chr(34), "")}"] }} }}'
    sink = 'output { null {} }'

    def entry(pid: str, conf: str) -> str:
        return f"- pipeline.id: {pid}\n  config.string: '{conf}'\n{SETTINGS}"

    return {
        "direct": entry("direct", f"{gen} {sink}"),
        "one hop": entry("up", f'{gen} output {{ pipeline {{ send_to => ["down"] }} }}')
        + entry("down", f'input {{ pipeline {{ address => "down" }} }} {sink}'),
        "fork x2": entry("up", f'{gen} output {{ pipeline {{ send_to => ["a", "b"] }} }}')
        + entry("a", f'input {{ pipeline {{ address => "a" }} }} {sink}')
        + entry("b", f'input {{ pipeline {{ address => "b" }} }} {sink}'),
    }


def measure(text: str, folder: Path) -> float:
    path = folder / "pipelines.yml"
    path.write_text(text)
    group = PipelineGroup(pipelines_yml.load(path))
    started = time.process_time()
    assert asyncio.run(group.run())
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        best = {name: min(measure(text, folder) for _ in range(args.repeat))
                for name, text in shapes(args.events).items()}
    base = args.events / best["direct"]
    for name, seconds in best.items():
        rate = args.events / seconds
        print(f"{name:8} {rate:>10,.0f} events/s (CPU)   {rate / base:5.2f} x direct")


if __name__ == "__main__":
    main()
