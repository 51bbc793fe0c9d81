"""``bench_pool`` input: replays a pool file as fast as the pipeline takes it.

It decodes each batch of records with ``events_from_json``, as the Kafka and
Redis inputs decode a fetch of JSON records (they also give each record its
metadata; HTTP bodies have a decoder of their own), and remembers when it started and when the last of its events was
acknowledged, so a measurement covers only the flow of events (not start-up,
database loading or shutdown). Registered by the benchmark itself, never by
the package's entry points: it is no use outside a benchmark.
"""
from __future__ import annotations

import asyncio
import time
from typing import Any

from pydantic import Field

from logpipe.bench.pool import read_pool
from logpipe.core import registry
from logpipe.core.batch import Batch
from logpipe.core.codec import events_from_json
from logpipe.core.plugin import Input, InputContext, PluginConfig

NAME = "bench_pool"


class PoolConfig(PluginConfig):
    file: str = Field(description="NDJSON pool written by logpipe.bench.pool.")
    count: int = Field(0, ge=0, description="Events to send; 0: the pool once.")
    batch: int = Field(500, ge=1, description="Events per submitted batch.")


class PoolInput(Input):
    Config = PoolConfig
    config: PoolConfig
    endless = False
    #: Set by the driver (before ``start``) to hold the input until every process is ready.
    go: asyncio.Event | None = None

    async def start(self) -> None:
        self.lines = read_pool(self.config.file)
        self.started = 0.0
        self.finished = 0.0
        self.total = self.config.count or len(self.lines)
        self.settled = 0
        self.failed = 0
        self._all_done = asyncio.Event()

    def _on_done(self, batch: Batch) -> None:
        self.settled += len(batch.events)
        if not batch.delivered:
            self.failed += len(batch.events)
        if self.settled >= self.total:
            self.finished = time.perf_counter()
            self._all_done.set()

    async def run(self, ctx: InputContext) -> None:
        if self.go is not None:
            await self.go.wait()
        lines, step, total = self.lines, self.config.batch, self.total
        decode = events_from_json
        self.started = time.perf_counter()
        sent = 0
        n = len(lines)
        while sent < total:
            take = min(step, total - sent)
            start = sent % n
            chunk = lines[start:start + take]
            if len(chunk) < take:
                chunk = chunk + lines[:take - len(chunk)]
            events = decode(chunk)
            await ctx.submit(events, size=sum(map(len, chunk)), on_done=self._on_done)
            sent += take
        await self._all_done.wait()

    @property
    def seconds(self) -> float:
        return self.finished - self.started

    def figures(self) -> dict[str, Any]:
        return {"events": self.settled, "failed": self.failed, "start": self.started,
                "end": self.finished, "seconds": self.seconds}


def register() -> None:
    registry.register("input", NAME, PoolInput)
