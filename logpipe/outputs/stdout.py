"""``stdout`` output: events through a codec to standard output.

``json_lines`` (the default) suits scripts; ``rubydebug`` (Logstash's default,
used for ``.conf`` pipelines) and ``pretty`` (indented JSON) suit people;
``dots`` shows progress. Any encoding codec works.
"""
from __future__ import annotations

import sys
from typing import BinaryIO

from logpipe.codecs import CodecSetting, codec_field
from logpipe.core.event import Event
from logpipe.core.plugin import Output, PluginConfig


class StdoutConfig(PluginConfig):
    codec: CodecSetting = codec_field("json_lines", "Output format: json_lines, pretty, rubydebug, dots, line, ...")

    logstash_defaults = {"codec": "rubydebug"}


class StdoutOutput(Output):
    Config = StdoutConfig
    config: StdoutConfig

    def __init__(self, *args: object, stream: BinaryIO | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.stream = stream
        self.codec = self.config.codec.build().check("encode")

    async def send(self, events: list[Event]) -> None:
        out = self.stream or sys.stdout.buffer
        out.write(self.codec.encode_batch(events))
        out.flush()
