"""``file`` output: events through a codec (JSON lines by default, as Logstash) appended
to a file, flushed before acknowledging.

``path`` may be a template (``/var/log/out/%{[service][name]}.log``); open
files are kept in a small cache. ``codec: {type: line, format: "%{message}"}``
writes text lines. With ``fsync: true`` data is on disk, not only in the OS
cache, before the batch is acknowledged.
"""
from __future__ import annotations

import asyncio
import os
from collections import OrderedDict
from typing import IO

from pydantic import Field

from logpipe.codecs import CodecSetting, codec_field
from logpipe.core.event import Event
from logpipe.core.plugin import Output, PluginConfig
from logpipe.core.sprintf import compile_template, is_template
from logpipe.errors import DeliveryError


class FileConfig(PluginConfig):
    path: str = Field(description="File to append to; may use %{[field]} templates.")
    codec: CodecSetting = codec_field("json_lines", "How events are written: json_lines, line (with format), ...")
    fsync: bool = Field(False, description="fsync after each batch, before acknowledging.")
    max_open_files: int = Field(64, ge=1, description="Files kept open at once for templated paths.")


class FileOutput(Output):
    Config = FileConfig
    config: FileConfig

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

    def _write(self, groups: dict[str, list[Event]]) -> None:
        for path, events in groups.items():
            f = self._open(path)
            f.write(self.codec.encode_batch(events))
            f.flush()
            if self.config.fsync:
                os.fsync(f.fileno())

    async def send(self, events: list[Event]) -> None:
        if self._path is None:
            groups = {self.config.path: events}
        else:
            groups = {}
            render = self._path
            for e in events:
                groups.setdefault(render(e), []).append(e)
        async with self._lock:
            try:
                self._write(groups)
            except OSError as exc:
                raise DeliveryError(f"cannot write {exc.filename}: {exc.strerror}", retriable=True) from exc

    async def stop(self) -> None:
        for f in getattr(self, "_files", {}).values():
            f.close()
        self._files = OrderedDict()
