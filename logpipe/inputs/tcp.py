"""``tcp`` input: a byte stream per connection through a codec (lines by default).

Reads large chunks and submits every complete line of a chunk as one batch, so
the per-line cost is the split and the event, not a syscall or an await. TCP
has no acknowledgement of its own: backpressure is that a connection is not
read while its batch waits for queue space. A line longer than
``max_line_bytes`` is cut, tagged ``_line_too_long``, and the rest of it skipped.
Each connection has its own codec stream, so a multiline event never mixes two
senders. The default ``line`` codec without options takes a faster path.
"""
from __future__ import annotations

import asyncio
import logging
import socket
import time
from typing import Any, ClassVar, cast

from pydantic import Field

from logpipe.codecs import CodecSetting, codec_field
from logpipe.core.codec import event_from_json, event_from_line
from logpipe.core.event import Event, now
from logpipe.core.packed import PackedLines, count_lines, text_events
from logpipe.core.logstash import Options, input_common
from logpipe.core.plugin import Input, InputContext, PluginConfig

log = logging.getLogger("logpipe.input.tcp")


def _text_events(block: bytes) -> list[Event] | None:
    """Every line of a block as an event, the block decoded in one call and stamped
    with one time; None when it holds invalid UTF-8 (the caller then decodes line by
    line so that only the bad lines are tagged)."""
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text_events(text, now())


class TcpConfig(PluginConfig):
    """Receive lines (or JSON lines) over plain TCP."""

    logstash_defaults: ClassVar[dict[str, Any]] = {}

    @classmethod
    def from_logstash(cls, options: dict[str, Any]) -> dict[str, Any]:
        """Logstash's tcp input options (see docs/logstash-plugins.md): server mode without
        TLS only; ``host`` keeps logpipe's loopback default."""
        opts = Options("tcp input", options)
        input_common(opts)
        opts.refuse("mode", "only `server` mode is supported", allowed=lambda v: v == "server")
        opts.refuse("proxy_protocol", "the PROXY protocol is not supported",
                    allowed=lambda v: v is False or str(v).lower() == "false")
        for name in ("ssl_enable", "ssl_enabled", "ssl_cert", "ssl_certificate", "ssl_key",
                     "ssl_key_passphrase", "ssl_extra_chain_certs", "ssl_certificate_authorities",
                     "ssl_verify", "ssl_client_authentication", "ssl_supported_protocols",
                     "ssl_cipher_suites"):
            opts.refuse(name, "the tcp input has no TLS; use the beats or http input for "
                        "encrypted transport", allowed=lambda v: v is False)
        # Connection details go to @metadata in Logstash's ECS mode: nothing to write.
        opts.ignore("tcp_keep_alive", "dns_reverse_lookup_enabled", "ecs_compatibility")
        return opts.result()

    host: str = Field("127.0.0.1", description="Address to listen on.")
    port: int = Field(5000, ge=0, le=65535, description="Port to listen on (0: any free port).")
    codec: CodecSetting = codec_field("line", "How the stream becomes events: line (lines), json_lines, "
                                              "multiline, cef, ... (Logstash's line default).")
    max_line_bytes: int = Field(1 << 20, ge=64, description="Longer lines are cut and tagged.")
    read_bytes: int = Field(256 * 1024, ge=4096, description="Bytes read per chunk.")
    reuse_port: bool = Field(True, description="SO_REUSEPORT so worker processes share the port.")
    max_connections: int = Field(1000, ge=1, description="Connections beyond this are closed at once.")


class TcpInput(Input):
    Config = TcpConfig
    config: TcpConfig

    async def start(self) -> None:
        cfg = self.config
        self._ctx: InputContext | None = None
        self._ready = asyncio.Event()
        self._conns: set[asyncio.Task[None]] = set()
        sock = socket.socket(socket.AF_INET6 if ":" in cfg.host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if cfg.reuse_port and hasattr(socket, "SO_REUSEPORT"):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((cfg.host, cfg.port))
        sock.listen(512)
        sock.setblocking(False)
        self.bound_port = sock.getsockname()[1]
        self._server = await asyncio.start_server(self._serve, sock=sock, limit=cfg.read_bytes)

    async def run(self, ctx: InputContext) -> None:
        self._ctx = ctx
        self._ready.set()
        await ctx.stopping.wait()
        self._server.close()
        for task in list(self._conns):
            task.cancel()
        await asyncio.gather(*self._conns, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        if len(self._conns) >= self.config.max_connections:
            log.warning("tcp input %s: connection limit reached, closing new connection", self.id)
            writer.close()
            return
        self._conns.add(task)
        try:
            await self._ready.wait()
            await self._read(reader)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._conns.discard(task)
            writer.close()

    async def _read(self, reader: asyncio.StreamReader) -> None:
        cfg = self.config
        if not cfg.codec.is_plain("line", "json_lines"):
            await self._read_codec(reader)
            return
        assert self._ctx is not None
        ctx = self._ctx
        make = event_from_json if cfg.codec == "json_lines" else event_from_line
        fast_lines = cfg.codec == "line"
        limit = cfg.max_line_bytes
        pending = b""
        skipping = False
        while True:
            chunk = await reader.read(cfg.read_bytes)
            if not chunk:
                break
            data = pending + chunk if pending else chunk
            cut = data.rfind(b"\n")
            if cut < 0:
                if len(data) > limit:
                    if not skipping:
                        ev = make(data[:limit])
                        ev.add_tag("_line_too_long")
                        await ctx.submit([ev], size=limit)
                    skipping = True
                    pending = b""
                else:
                    pending = data
                continue
            pending = data[cut + 1:]
            if skipping:  # the rest of an over-long line
                first = data.find(b"\n")
                block = data[first + 1:cut] if first < cut else b""
                skipping = False
            else:
                block = data[:cut]
            if not block:
                continue
            if fast_lines and len(block) <= limit:
                if ctx.packs_lines:          # kept as bytes (logpipe.core.packed)
                    count = count_lines(block)
                    if count >= 0:
                        if count:
                            await ctx.submit(cast(list[Event], PackedLines(block, now(), count)), size=cut)
                        continue
                events = _text_events(block)
                if events is not None:
                    if events:
                        await ctx.submit(events, size=cut)
                    continue
            events = []
            for raw in block.split(b"\n"):
                if len(raw) > limit:
                    ev = make(raw[:limit])
                    ev.add_tag("_line_too_long")
                    events.append(ev)
                elif raw and raw != b"\r":
                    events.append(make(raw[:-1] if raw.endswith(b"\r") else raw))
            if events:
                await ctx.submit(events, size=cut)
        if pending.strip() and not skipping:
            await ctx.submit([make(pending)], size=len(pending))

    async def _read_codec(self, reader: asyncio.StreamReader) -> None:
        """Any other codec: its own stream for this connection, flushed when it closes."""
        assert self._ctx is not None
        ctx = self._ctx
        stream = self.config.codec.build().stream(self.config.max_line_bytes)
        idle = stream.idle_interval
        while True:
            try:
                chunk = await asyncio.wait_for(reader.read(self.config.read_bytes), idle)
            except TimeoutError:                        # quiet: let multiline send what it holds
                events = stream.idle(time.monotonic())
                if events:
                    await ctx.submit(events, size=0)
                continue
            if not chunk:
                break
            events = stream.feed(chunk)
            if events:
                await ctx.submit(events, size=len(chunk))
        tail = stream.flush()
        if tail:
            await ctx.submit(tail, size=0)
