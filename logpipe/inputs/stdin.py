"""``stdin`` input: standard input through a codec (lines by default), for scripts and tests.

Reading happens in a thread in large chunks so a pipe or a file of any size is
read without blocking the event loop; the input is finite and ends at EOF, when
the codec's stream is flushed (a last line without newline, a pending
multiline event).
"""
from __future__ import annotations

import asyncio
import sys
from typing import Any, BinaryIO, ClassVar

from pydantic import Field

from logpipe.codecs import CodecSetting, codec_field
from logpipe.core.logstash import Options, input_common
from logpipe.core.plugin import Input, InputContext, PluginConfig


class StdinConfig(PluginConfig):
    """Read events from standard input, one per line."""

    logstash_defaults: ClassVar[dict[str, Any]] = {}

    @classmethod
    def from_logstash(cls, options: dict[str, Any]) -> dict[str, Any]:
        """Logstash's stdin input has only the common options (see docs/logstash-plugins.md).
        Its ``codec`` passes as it is: told ``plain`` or ``json``, Logstash splits the stream
        into lines first, as the codec's stream does here."""
        opts = Options("stdin input", options)
        input_common(opts)
        opts.ignore("ecs_compatibility")
        return opts.result()

    codec: CodecSetting = codec_field("line", "How the stream becomes events: line (lines), json_lines, "
                                              "multiline, ... (Logstash's line default).")
    chunk_bytes: int = Field(1 << 20, ge=1024, description="Bytes read per chunk.")
    max_line_bytes: int = Field(1 << 20, ge=64, description="Longer lines are cut and tagged _line_too_long.")


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
