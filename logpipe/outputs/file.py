"""``file`` output: events through a codec (JSON lines by default, as Logstash) appended
to a file, flushed before acknowledging.

``path`` may be a template (``/var/log/out/%{[service][name]}.log``); open
files are kept in a small cache. ``codec: {type: line, format: "%{message}"}``
writes text lines. With ``fsync: true`` data is on disk, not only in the OS
cache, before the batch is acknowledged.

Events are encoded on the event loop and written in a thread, so a slow disk
holds this output's batch, never the loop (keepalives, heartbeats, HTTP answers).
An event the codec cannot encode is reported rejected (the engine dead-letters
it); the events beside it are written.
"""
from __future__ import annotations

import asyncio
import os
from collections import OrderedDict
from typing import IO, Any, ClassVar

from pydantic import Field

from logpipe.codecs import CodecSetting, codec_field
from logpipe.codecs.base import Codec
from logpipe.core.event import Event
from logpipe.core.logstash import Options, is_false, output_common
from logpipe.core.outcome import Delivery
from logpipe.core.plugin import Output, PluginConfig
from logpipe.core.sprintf import compile_template, is_template
from logpipe.core.writes import Writes
from logpipe.errors import DeliveryError


class FileConfig(PluginConfig):
    """Append events to files, one JSON document per line."""

    logstash_defaults: ClassVar[dict[str, Any]] = {}

    @classmethod
    def from_logstash(cls, options: dict[str, Any]) -> dict[str, Any]:
        """Logstash's file output options (see docs/logstash-plugins.md)."""
        opts = Options("file output", options)
        output_common(opts)
        # Files are flushed before each batch is acknowledged and re-opened when deleted.
        opts.ignore("flush_interval", "stale_cleanup_interval", "create_if_deleted")
        opts.refuse("gzip", "compressed output files are not supported", allowed=is_false)
        opts.refuse("write_behavior", "files are only appended to",
                    allowed=lambda v: v == "append")
        for name in ("dir_mode", "file_mode"):
            opts.refuse(name, "modes follow the process umask", allowed=lambda v: int(v) == -1)
        opts.refuse("filename_failure", "not supported", allowed=lambda v: v == "_filepath_failures")
        return opts.result()

    path: str = Field(description="File to append to; may use %{[field]} templates.")
    codec: CodecSetting = codec_field("json_lines", "How events are written: json_lines, line (with format), ...")
    fsync: bool = Field(False, description="fsync after each batch, before acknowledging.")
    max_open_files: int = Field(64, ge=1, description="Files kept open at once for templated paths.")


class FileOutput(Output):
    Config = FileConfig
    config: FileConfig

    def writes(self) -> Writes:
        """It reads events and never changes them."""
        return Writes.nothing()

    async def start(self) -> None:
        self._files: OrderedDict[str, IO[bytes]] = OrderedDict()
        self._path = compile_template(self.config.path) if is_template(self.config.path) else None
        self._lock = asyncio.Lock()
        self.codec = self.config.codec.build().check("encode")

    def _open(self, path: str) -> IO[bytes]:
        f = self._files.get(path)
        if f is not None:
            self._files.move_to_end(path)
            return f
        parent = os.path.dirname(path)
        if parent:
            os.makedirs(parent, exist_ok=True)
        f = open(path, "ab")
        self._files[path] = f
        while len(self._files) > self.config.max_open_files:
            _, old = self._files.popitem(last=False)
            old.close()
        return f

    def _write(self, chunks: dict[str, bytes]) -> None:
        for path, data in chunks.items():
            f = self._open(path)
            f.write(data)
            f.flush()
            if self.config.fsync:
                os.fsync(f.fileno())

    async def send(self, events: list[Event]) -> Delivery | None:
        delivery = Delivery()
        groups: dict[str, list[tuple[int, Event]]] = {}
        render = self._path
        for i, e in enumerate(events):
            groups.setdefault(render(e) if render is not None else self.config.path, []).append((i, e))
        chunks = {path: _encode(self.codec, members, delivery) for path, members in groups.items()}
        async with self._lock:
            try:
                await asyncio.to_thread(self._write, chunks)
            except OSError as exc:
                raise DeliveryError(f"cannot write {exc.filename}: {exc.strerror}", retriable=True) from exc
        return None if delivery.complete else delivery

    async def stop(self) -> None:
        for f in getattr(self, "_files", {}).values():
            f.close()
        self._files = OrderedDict()


def _encode(codec: Codec, members: list[tuple[int, Event]], delivery: Delivery) -> bytes:
    """A group's bytes; events the codec cannot encode are rejected, not written."""
    try:
        return codec.encode_batch([e for _, e in members])
    except (TypeError, ValueError):
        pass
    out: list[bytes] = []
    for i, e in members:
        try:
            out.append(codec.encode(e))
        except (TypeError, ValueError) as exc:
            delivery.reject(i, f"serialization_error: the event cannot be encoded: {exc}")
    return b"".join(out)
