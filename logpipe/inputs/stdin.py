"""``stdin`` input: standard input through a codec (lines by default), for scripts and tests.

Reading happens in a thread in large chunks so a pipe or a file of any size is
read without blocking the event loop; the input is finite and ends at EOF, when
the codec's stream is flushed (a last line without newline, a pending
multiline event).
"""
from __future__ import annotations

import asyncio
import sys
from typing import Any, BinaryIO

from pydantic import Field

from logpipe.codecs import CodecSetting, codec_field
from logpipe.core.plugin import Input, InputContext, PluginConfig


class StdinConfig(PluginConfig):
    codec: CodecSetting = codec_field("line", "How the stream becomes events: line (lines), json_lines, "
                                              "multiline, ... (Logstash's line default).")
    chunk_bytes: int = Field(1 << 20, ge=1024, description="Bytes read per chunk.")
    max_line_bytes: int = Field(1 << 20, ge=64, description="Longer lines are cut and tagged _line_too_long.")

    @classmethod
    def from_logstash(cls, options: dict[str, Any]) -> dict[str, Any]:
        """Logstash reads stdin with ``line`` when told ``plain``, ``json_lines`` when told ``json``;
        the codec's stream does the same splitting here, so the names pass as they are."""
        return dict(options)


class StdinInput(Input):
    Config = StdinConfig
    endless = False
    config: StdinConfig

    def __init__(self, *args: object, stream: BinaryIO | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.stream = stream

    async def start(self) -> None:
        self.codec = self.config.codec.build().check("decode")

    async def run(self, ctx: InputContext) -> None:
        source = self.stream or sys.stdin.buffer
        loop = asyncio.get_running_loop()
        decoder = self.codec.stream(self.config.max_line_bytes)
        hint = self.config.chunk_bytes
        while not ctx.stopping.is_set():
            lines: list[bytes] = await loop.run_in_executor(None, source.readlines, hint)
            if not lines:
                break
            data = b"".join(lines)
            events = decoder.feed(data)
            if events:
                await ctx.submit(events, size=len(data))
        tail = decoder.flush()
        if tail:
            await ctx.submit(tail, size=0)
