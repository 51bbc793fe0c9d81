"""Elasticsearch output throughput next to a bare bulk loader, same node, same run.

Both sides send the same documents with the same action lines (same ids),
``--batch-size`` documents per bulk request and ``--in-flight`` requests at
once, into fresh indices with the same settings. The bare loader gets its
bodies ready-made before the clock starts and only POSTs them with aiohttp;
the output starts from events, so serialization, ids, body building,
response checking and its client are what the ratio measures.

    python benchmarks/bench_es.py [--es URL] [--events N] [--rounds R] [--json]

The node and this process share the machine's cores, so the figures move with
whatever else runs; the ratio of the two sides in the same run is what to read.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from logpipe.core.event import Event  # noqa: E402
from tests.integration.es_support import ecs_events  # noqa: E402

SEND_BATCH = 5000  # events per send() call, like a pipeline batch
INDEX_SETTINGS = {"settings": {"number_of_shards": 1, "number_of_replicas": 0,
                               "refresh_interval": "-1"}}


async def _request(session: aiohttp.ClientSession, method: str, url: str, body: Any = None) -> Any:
    data = orjson.dumps(body) if body is not None else None
    async with session.request(method, url, data=data,
                               headers={"content-type": "application/json"}) as resp:
        return resp.status, await resp.read()


async def _fresh_index(session: aiohttp.ClientSession, es: str, name: str) -> None:
    await _request(session, "DELETE", f"{es}/{name}?ignore_unavailable=true")
    status, body = await _request(session, "PUT", f"{es}/{name}", INDEX_SETTINGS)
    if status != 200:
        raise SystemExit(f"cannot create {name}: {body!r}")


async def _count(session: aiohttp.ClientSession, es: str, name: str) -> int:
    await _request(session, "POST", f"{es}/{name}/_refresh")
    _, body = await _request(session, "GET", f"{es}/{name}/_count")
    return int(orjson.loads(body)["count"])


async def bare_loader(es: str, index: str, events: list[Event], batch_size: int, in_flight: int) -> float:
    from logpipe.outputs.elasticsearch.ids import id_factory
    from logpipe.outputs.elasticsearch.request_builder import RequestBuilder, body

    builder = RequestBuilder(index=index, action="create", ids=id_factory("coordinates"),
                             batch_size=batch_size)
    bodies = [body(chunk) for chunk in builder.chunks(events)]  # before the clock
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for b in bodies:
        queue.put_nowait(b)
    headers = {"content-type": "application/x-ndjson"}
    url = f"{es}/_bulk?filter_path=errors"
    async with aiohttp.ClientSession() as session:
        async def worker() -> None:
            while not queue.empty():
                data = queue.get_nowait()
                async with session.post(url, data=data, headers=headers) as resp:
                    result = orjson.loads(await resp.read())
                    assert resp.status == 200 and not result.get("errors"), result
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(in_flight)))
        return time.perf_counter() - started


async def logpipe_output(es: str, index: str, events: list[Event], batch_size: int, in_flight: int) -> float:
    from logpipe.outputs.elasticsearch import ElasticsearchOutput

    cfg = ElasticsearchOutput.Config(hosts=[es], index=index, batch_size=batch_size,
                                     max_in_flight=in_flight)
    out = ElasticsearchOutput(cfg, id="bench-es")
    await out.start()
    try:
        started = time.perf_counter()
        for n in range(0, len(events), SEND_BATCH):
            await out.send(events[n:n + SEND_BATCH])
        return time.perf_counter() - started
    finally:
        await out.stop()


async def run(es: str, count: int, rounds: int, batch_size: int, in_flight: int) -> dict[str, Any]:
    run_id = uuid.uuid4().hex[:8]
    events = ecs_events(0, count, kafka_topic="bench")
    ours: list[float] = []
    ref: list[float] = []
    async with aiohttp.ClientSession() as session:
        try:
            sides = [("ref", bare_loader, ref), ("lp", logpipe_output, ours)]
            for r in range(rounds):
                # alternate who goes first, so neither always meets a cold (or busy) node
                for name, fn, times in (sides if r % 2 == 0 else sides[::-1]):
                    index = f"bench-es-{run_id}-{name}-{r}"
                    await _fresh_index(session, es, index)
                    times.append(await fn(es, index, events, batch_size, in_flight))
                    indexed = await _count(session, es, index)
                    if indexed != count:
                        raise SystemExit(f"{name}: {indexed} of {count} documents indexed")
                    await _request(session, "DELETE", f"{es}/{index}")
        finally:
            await _request(session, "DELETE", f"{es}/bench-es-{run_id}-*")
    best_ours, best_ref = min(ours), min(ref)
    return {
        "scenario": f"elasticsearch output vs bare _bulk loader ({batch_size} docs/request, "
                    f"{in_flight} in flight, best of {rounds})",
        "events": count,
        "logpipe_docs_per_s": round(count / best_ours),
        "reference_docs_per_s": round(count / best_ref),
        "ratio": round(best_ref / best_ours, 3),
        "logpipe_runs_s": [round(t, 2) for t in ours],
        "reference_runs_s": [round(t, 2) for t in ref],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--es", default="http://127.0.0.1:9200")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--in-flight", type=int, default=4)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    from logpipe.runtime.runner import install_loop_policy
    install_loop_policy()
    result = asyncio.run(run(args.es.rstrip("/"), args.events, args.rounds, args.batch_size, args.in_flight))
    if args.json:
        sys.stdout.write(orjson.dumps(result).decode() + "\n")
    else:
        for k, v in result.items():
            print(f"{k:>22}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
