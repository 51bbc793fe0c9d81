"""``stdout`` output: JSON lines for scripts, or an indented view for people."""
from __future__ import annotations

import sys
from typing import Any, BinaryIO, ClassVar, Literal

from pydantic import Field

from logpipe.core.codec import dumps_pretty, json_lines
from logpipe.core.event import Event
from logpipe.core.logstash import Options, output_common
from logpipe.core.plugin import Output, PluginConfig


class StdoutConfig(PluginConfig):
    """Write events to standard output."""

    logstash_defaults: ClassVar[dict[str, Any]] = {}

    @classmethod
    def from_logstash(cls, options: dict[str, Any]) -> dict[str, Any]:
        """Logstash's stdout output has only the common options."""
        opts = Options("stdout output", options)
        output_common(opts)
        return opts.result()

    codec: Literal["json_lines", "pretty"] = Field("json_lines", description="Output format.")


class StdoutOutput(Output):
    Config = StdoutConfig
    config: StdoutConfig

    def __init__(self, *args: object, stream: BinaryIO | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.stream = stream

    async def send(self, events: list[Event]) -> None:
        out = self.stream or sys.stdout.buffer
        if self.config.codec == "pretty":
            out.write(b"".join(dumps_pretty(e.data) + b"\n" for e in events))
        else:
            out.write(json_lines(events))
        out.flush()
