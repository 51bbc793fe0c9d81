"""``stdin`` input: lines or JSON lines from standard input, for scripts and tests.

Reading happens in a thread in large chunks so a pipe or a file of any size is
read without blocking the event loop; the input is finite and ends at EOF.
"""
from __future__ import annotations

import asyncio
import sys
from typing import Any, BinaryIO, ClassVar, Literal

from pydantic import Field

from logpipe.core.codec import event_from_json, event_from_line
from logpipe.core.logstash import Options, input_common
from logpipe.core.plugin import Input, InputContext, PluginConfig


class StdinConfig(PluginConfig):
    """Read events from standard input, one per line."""

    logstash_defaults: ClassVar[dict[str, Any]] = {}

    @classmethod
    def from_logstash(cls, options: dict[str, Any]) -> dict[str, Any]:
        """Logstash's stdin input has only the common options (see docs/logstash-plugins.md)."""
        opts = Options("stdin input", options)
        input_common(opts)
        opts.ignore("ecs_compatibility")
        return opts.result()

    codec: Literal["lines", "json_lines"] = Field("lines", description="How each line becomes an event.")
    chunk_bytes: int = Field(1 << 20, ge=1024, description="Bytes read per chunk.")
    max_line_bytes: int = Field(1 << 20, ge=64, description="Longer lines are cut and tagged _line_too_long.")


class StdinInput(Input):
    Config = StdinConfig
    endless = False
    config: StdinConfig

    def __init__(self, *args: object, stream: BinaryIO | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.stream = stream

    async def run(self, ctx: InputContext) -> None:
        stream = self.stream or sys.stdin.buffer
        loop = asyncio.get_running_loop()
        make = event_from_json if self.config.codec == "json_lines" else event_from_line
        limit = self.config.max_line_bytes
        hint = self.config.chunk_bytes
        while not ctx.stopping.is_set():
            lines: list[bytes] = await loop.run_in_executor(None, stream.readlines, hint)
            if not lines:
                return
            events = []
            size = 0
            for raw in lines:
                size += len(raw)
                raw = raw.rstrip(b"\r\n")
                if not raw.strip():
                    continue
                cut = len(raw) > limit
                event = make(raw[:limit] if cut else raw)
                if cut:
                    event.add_tag("_line_too_long")
                events.append(event)
            if events:
                await ctx.submit(events, size=size)
