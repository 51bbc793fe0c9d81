"""``generator`` input: a fixed or endless stream of events for tests and benchmarks.

Lines come from ``message``, a ``lines`` list or a file, cycled; each event gets
a ``sequence`` number, as Logstash's generator does. ``count: 0`` runs until stopped.
"""
from __future__ import annotations

import asyncio
from itertools import cycle
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field

from logpipe.core.codec import event_from_json
from logpipe.core.event import Event, now
from logpipe.core.logstash import Options, input_common
from logpipe.core.plugin import Input, InputContext, PluginConfig


class GeneratorConfig(PluginConfig):
    """Generate events from a fixed line, a list of lines or a file."""

    logstash_defaults: ClassVar[dict[str, Any]] = {}

    @classmethod
    def from_logstash(cls, options: dict[str, Any]) -> dict[str, Any]:
        """Logstash's generator input options (see docs/logstash-plugins.md)."""
        opts = Options("generator input", options)
        input_common(opts)
        opts.rename("lines", "lines", lambda v: v if isinstance(v, list) else [v])
        opts.ignore("threads", "ecs_compatibility")
        return opts.result()

    count: int = Field(0, ge=0, description="Events to emit; 0 means until stopped.")
    message: str = Field("Hello world!", description="The line when neither lines nor file is set.")
    lines: list[str] | None = Field(None, description="Lines to cycle through.")
    file: str | None = Field(None, description="A file whose lines are cycled through.")
    codec: Literal["plain", "json"] = Field("plain", description="json: each line is a JSON object.")
    batch: int = Field(500, ge=1, description="Events per submitted batch.")
    rate: float | None = Field(None, gt=0, description="Events per second; unset means as fast as possible.")


class GeneratorInput(Input):
    Config = GeneratorConfig
    config: GeneratorConfig

    @property
    def endless(self) -> bool:  # type: ignore[override]
        return self.config.count == 0

    def _lines(self) -> list[str]:
        if self.config.file:
            return [ln for ln in Path(self.config.file).read_text(encoding="utf-8").splitlines() if ln]
        if self.config.lines:
            return list(self.config.lines)
        return [self.config.message]

    async def run(self, ctx: InputContext) -> None:
        cfg = self.config
        lines = self._lines()
        source = cycle([(ln, len(ln), ln.encode()) for ln in lines])
        remaining = cfg.count or -1
        seq = 0
        loop = asyncio.get_running_loop()
        started = loop.time()
        json_codec = cfg.codec == "json"
        while remaining != 0 and not ctx.stopping.is_set():
            n = cfg.batch if remaining < 0 else min(cfg.batch, remaining)
            events: list[Event] = []
            size = 0
            ts = now()
            for _ in range(n):
                line, length, raw = next(source)
                if json_codec:
                    event = event_from_json(raw)
                    event.data["sequence"] = seq
                else:
                    event = Event({"@timestamp": ts, "message": line, "sequence": seq})
                events.append(event)
                size += length
                seq += 1
            await ctx.submit(events, size=size)
            if remaining > 0:
                remaining -= n
            if cfg.rate:
                ahead = seq / cfg.rate - (loop.time() - started)
                if ahead > 0:
                    try:
                        await asyncio.wait_for(ctx.stopping.wait(), ahead)
                    except TimeoutError:
                        pass
            else:
                await asyncio.sleep(0)
