"""``stdout`` output: events through a codec to standard output.

``json_lines`` (the default) suits scripts; ``rubydebug`` (Logstash's default,
used for ``.conf`` pipelines) and ``pretty`` (indented JSON) suit people;
``dots`` shows progress. Any encoding codec works.
"""
from __future__ import annotations

import sys
from typing import Any, BinaryIO, ClassVar

from logpipe.codecs import CodecSetting, codec_field
from logpipe.core.event import Event
from logpipe.core.logstash import Options, output_common
from logpipe.core.plugin import Output, PluginConfig
from logpipe.core.writes import Writes


class StdoutConfig(PluginConfig):
    """Write events to standard output."""

    logstash_defaults: ClassVar[dict[str, Any]] = {"codec": "rubydebug"}

    @classmethod
    def from_logstash(cls, options: dict[str, Any]) -> dict[str, Any]:
        """Logstash's stdout output has only the common options and its codec."""
        opts = Options("stdout output", options)
        output_common(opts)
        return opts.result()

    codec: CodecSetting = codec_field("json_lines", "Output format: json_lines, pretty, rubydebug, dots, line, ...")


class StdoutOutput(Output):
    Config = StdoutConfig
    config: StdoutConfig

    def writes(self) -> Writes:
        """It reads events and never changes them."""
        return Writes.nothing()

    def __init__(self, *args: object, stream: BinaryIO | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.stream = stream
        self.codec = self.config.codec.build().check("encode")

    async def send(self, events: list[Event]) -> None:
        out = self.stream or sys.stdout.buffer
        out.write(self.codec.encode_batch(events))
        out.flush()
