"""Scenario "memory": resident memory per worker, steady and under a flood with the output stalled.

``logpipe run`` with all workers runs the graphmemory filters behind the HTTP
input. Steady state: senders POST generated traffic as fast as answers come
back, into the blackhole output; the workers' RSS is sampled twice a second
and the figure is the highest worker's RSS over the second half of the run.

Stalled output: the output is a TCP connection to a server that accepts it
and never reads, so after the kernel buffers fill nothing leaves; senders keep
POSTing without pause (refusals included) for the whole run. Backpressure must
hold memory: the queue fills to its bounds, the HTTP input answers 429, and
RSS levels off. The figures are the peak, and the growth between the middle
third and the last third of the run (flat means under 5%).
"""
from __future__ import annotations

import asyncio
import socket
import tempfile
import threading
from pathlib import Path
from typing import Any

import aiohttp

from logpipe.bench.cluster import Cluster
from logpipe.bench.common import Options, Row, ScenarioResult, Target, free_port
from logpipe.bench.e2e import HTTP_BATCH, HTTP_SENDERS
from logpipe.bench.pipelines import graphmemory_raw, variant
from logpipe.bench.pool import ensure_scrub_key, make_pool

SAMPLE_EVERY = 0.5
FLAT = 0.05


def queue_events() -> int:
    """The graphmemory pipeline's queue bound (settings.queue_max_events)."""
    return int(graphmemory_raw()["settings"]["queue_max_events"])


class StalledSink:
    """A TCP server that accepts connections and never reads from them."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            self.conns.append(conn)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        for c in self.conns:
            c.close()
        self.sock.close()


def _pipeline(http_port: int, output: dict[str, Any]) -> str:
    # A stalled output never drains: stop without waiting the full grace period.
    return variant(inputs=[{"type": "http", "id": "http", "host": "127.0.0.1", "port": http_port}],
                   outputs=[output], settings={"shutdown_timeout": 3})


def _senders(workers: int, flood: bool) -> int:
    """Under a flood, more requests than the queues can hold are always outstanding: each
    accepted request waits for an acknowledgement that never comes, the rest are refused."""
    if not flood:
        return HTTP_SENDERS
    return 64 + workers * (queue_events() // HTTP_BATCH + 16)


async def _drive(url: str, bodies: list[bytes], seconds: float, cluster: Cluster, *, flood: bool
                 ) -> tuple[list[tuple[float, float]], dict[int, int]]:
    """POST for ``seconds``; sample the highest worker RSS meanwhile."""
    samples: list[tuple[float, float]] = []
    statuses: dict[int, int] = {}
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    headers = {"Content-Type": "application/x-ndjson"}

    async def sampler() -> None:
        t0 = loop.time()
        while loop.time() < end:
            rss = await loop.run_in_executor(None, cluster.worker_rss)
            if rss:
                samples.append((loop.time() - t0, max(rss)))
            await asyncio.sleep(SAMPLE_EVERY)

    senders = _senders(cluster.workers, flood)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None)) as session:
        async def sender(k: int) -> None:
            i = k
            while loop.time() < end:
                body = bodies[i % len(bodies)]
                i += senders
                try:
                    async with session.post(url, data=body, headers=headers,
                                            timeout=aiohttp.ClientTimeout(total=max(0.1, end - loop.time()))
                                            ) as resp:
                        await resp.read()
                        statuses[resp.status] = statuses.get(resp.status, 0) + 1
                        if resp.status in (429, 503) and not flood:
                            await asyncio.sleep(0.2)
                except (asyncio.TimeoutError, aiohttp.ClientError):
                    statuses[0] = statuses.get(0, 0) + 1
                if flood:
                    await asyncio.sleep(0.01)

        await asyncio.gather(sampler(), *(sender(k) for k in range(senders)))
    return samples, statuses


def _phase(options: Options, tmp: Path, bodies: list[bytes], seconds: float, *, stalled: bool
           ) -> dict[str, Any]:
    http_port = free_port()
    sink = StalledSink() if stalled else None
    output = ({"type": "tcp", "id": "stalled", "port": sink.port} if sink is not None
              else {"type": "blackhole", "id": "blackhole"})
    cluster = Cluster(_pipeline(http_port, output), tmp, options.worker_count,
                      name="memory-stalled" if stalled else "memory-steady")
    try:
        cluster.start()
        idle = max(cluster.worker_rss() or [0.0])
        samples, statuses = asyncio.run(_drive(f"http://127.0.0.1:{http_port}/", bodies, seconds, cluster,
                                               flood=stalled))
    finally:
        cluster.stop()
        if sink is not None:
            sink.close()
    values = [v for _, v in samples]
    third = max(1, len(values) // 3)
    middle = max(values[third:2 * third] or values)
    last = max(values[2 * third:] or values)
    second_half = values[len(values) // 2:] or values
    return {"idle_mb": idle, "peak_mb": max(values) if values else 0.0,
            "steady_mb": max(second_half) if second_half else 0.0,
            "middle_third_mb": middle, "last_third_mb": last,
            "growth": (last - middle) / middle if middle else 0.0,
            "samples": [(round(t, 2), round(v, 1)) for t, v in samples], "statuses": statuses}


def run(options: Options) -> ScenarioResult:
    ensure_scrub_key()
    result = ScenarioResult("memory", "RSS per worker: steady, and flooded with the output stalled")
    seconds = 3.0 if options.quick else 40.0
    records = make_pool(2_000 if options.quick else 20_000, seed=41)
    bodies = [b"\n".join(records[i:i + HTTP_BATCH]) + b"\n" for i in range(0, len(records), HTTP_BATCH)]
    with tempfile.TemporaryDirectory() as d:
        steady = _phase(options, Path(d), bodies, seconds, stalled=False)
        flood = _phase(options, Path(d), bodies, seconds, stalled=True)
    accepted = sum(n for s, n in flood["statuses"].items() if s == 200)
    refused = sum(n for s, n in flood["statuses"].items() if s in (429, 503))
    result.rows = [
        Row("idle worker (started, no traffic)", steady["idle_mb"], "MB"),
        Row("steady state, busiest worker", steady["steady_mb"], "MB",
            detail=f"{sum(steady['statuses'].values())} requests"),
        Row("stalled output, peak", flood["peak_mb"], "MB",
            detail=f"{refused} requests refused (429/503), {accepted} accepted"),
        Row("stalled output, last third vs middle third", flood["growth"] * 100.0, "%",
            detail=f"{flood['middle_third_mb']:.0f} -> {flood['last_third_mb']:.0f} MB"),
    ]
    result.targets = [
        Target("RSS per worker at steady state", steady["steady_mb"], 150.0, "<", "MB"),
        Target("RSS per worker, stalled output (peak)", flood["peak_mb"], 200.0, "<", "MB"),
        Target("growth while stalled (last vs middle third)", flood["growth"], FLAT, "<"),
    ]
    result.extra = {"seconds": seconds, "steady": steady, "stalled": flood}
    return result
