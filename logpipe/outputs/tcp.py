"""``tcp`` output: events through a codec (JSON lines by default) to a TCP server.

A batch is one write; ``send`` returns once the kernel has taken it
(``drain``). A connection that fails is re-opened with backoff and the batch is
written again. Plain TCP has no application-level acknowledgement, so what the
kernel had buffered when the peer went away can still be lost: use Kafka or
Elasticsearch outputs where delivery must be proven.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, ClassVar

from pydantic import Field

from logpipe.codecs import Codec, CodecSetting, build, codec_field
from logpipe.core.event import Event
from logpipe.core.logstash import Options, output_common
from logpipe.core.plugin import Output, PluginConfig
from logpipe.core.writes import Writes

log = logging.getLogger("logpipe.output.tcp")


class TcpOutputConfig(PluginConfig):
    """Send events to a TCP server, one line each."""

    #: Logstash waits 10 seconds before reconnecting.
    #: Logstash's tcp output writes ``json`` (documents without a separator) unless told otherwise.
    logstash_defaults: ClassVar[dict[str, Any]] = {"reconnect_interval": 10, "codec": "json"}

    @classmethod
    def from_logstash(cls, options: dict[str, Any]) -> dict[str, Any]:
        """Logstash's tcp output options (see docs/logstash-plugins.md)."""
        opts = Options("tcp output", options)
        output_common(opts)
        opts.refuse("mode", "only `client` mode is supported", allowed=lambda v: v == "client")
        for name in ("ssl_enable", "ssl_enabled", "ssl_cert", "ssl_certificate", "ssl_key",
                     "ssl_key_passphrase", "ssl_cacert", "ssl_certificate_authorities",
                     "ssl_verify", "ssl_verification_mode", "ssl_supported_protocols",
                     "ssl_cipher_suites"):
            opts.refuse(name, "the tcp output has no TLS; use the kafka, http or "
                        "elasticsearch outputs for encrypted transport",
                        allowed=lambda v: v is False)
        opts.ignore("keep_alive")
        return opts.result()

    host: str = Field("127.0.0.1", description="Server address.")
    port: int = Field(ge=1, le=65535, description="Server port.")
    codec: CodecSetting = codec_field("json_lines", "How events are written: json_lines, line, json, cef, ...")
    format: str = Field("%{message}", description="With codec line (given without its own format): the line template.")
    reconnect_interval: float = Field(1.0, gt=0, description="First wait before reconnecting (doubles).")


class TcpOutput(Output):
    Config = TcpOutputConfig
    config: TcpOutputConfig

    def writes(self) -> Writes:
        """It reads events and never changes them."""
        return Writes.nothing()

    async def start(self) -> None:
        self._writer: asyncio.StreamWriter | None = None
        self._lock = asyncio.Lock()
        self.codec = self._codec()

    def _codec(self) -> Codec:
        spec = self.config.codec
        if spec.name == "line" and "format" not in spec.options:
            return build("line", {**spec.options, "format": self.config.format})
        return spec.build().check("encode")

    def _encode(self, events: list[Event]) -> bytes:
        return self.codec.encode_batch(events)

    @property
    def packs_json_lines(self) -> bool:
        """Whether packed line batches (logpipe.core.packed) may come as finished JSON lines."""
        return self.config.codec.is_plain("json_lines")

    async def send_packed(self, bodies: list[bytes]) -> None:
        """JSON lines made by the packed route: written as they are."""
        await self._write(bodies[0] if len(bodies) == 1 else b"".join(bodies))

    async def send(self, events: list[Event]) -> None:
        await self._write(self._encode(events))

    async def _write(self, body: bytes) -> None:
        backoff = self.config.reconnect_interval
        async with self._lock:
            while True:
                try:
                    if self._writer is None or self._writer.is_closing():
                        _, self._writer = await asyncio.open_connection(self.config.host, self.config.port)
                    self._writer.write(body)
                    await self._writer.drain()
                    return
                except OSError as exc:
                    log.warning("tcp output %s: %s; reconnecting in %.1fs", self.id, exc, backoff)
                    self._writer = None
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 30.0)

    async def stop(self) -> None:
        if self._writer is not None:
            self._writer.close()
            try:
                await self._writer.wait_closed()
            except OSError:
                pass
