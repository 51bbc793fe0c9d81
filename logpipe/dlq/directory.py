"""A dead-letter queue in local segment files (the default, as Logstash's file DLQ).

Records are JSON lines appended to ``<seq>.log`` segments in the pipeline's own
directory (``<path.dead_letter_queue>/<pipeline>/``); a segment is closed past
``max_segment_bytes`` and a new one begun. A write returns once the bytes are
fsynced (``flush_interval_ms: 0``, the default) so acknowledging the batch is
safe; with an interval, fsyncs happen at most that often. All file work runs
in a thread, never on the event loop.

When the segments together would pass ``max_bytes``, or the directory cannot
be written, ``write`` raises :class:`DeadLetterQueueUnavailable`: the engine
holds the batch and logs, and readiness turns false until a write succeeds.
"""
from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path
from typing import Iterator

import orjson

from logpipe.dlq.config import PipelineDeadLetterQueue
from logpipe.dlq.queue import DeadLetterQueueUnavailable
from logpipe.dlq.record import DeadLetterRecord

SUFFIX = ".log"


class DirectoryDeadLetterQueue:
    def __init__(self, path: str | os.PathLike[str], settings: PipelineDeadLetterQueue, *,
                 worker: int | None = None, log: logging.Logger | None = None) -> None:
        self.path = Path(path)
        self.settings = settings
        self.destination = f"directory {self.path}"
        #: Worker processes write their own segments (one writer per file).
        self._tag = f"-w{worker}" if worker is not None else ""
        self.log = log or logging.getLogger("logpipe.dlq")
        self._lock = asyncio.Lock()
        self._segment: Path | None = None
        self._segment_bytes = 0
        self._total = 0
        self._last_sync = 0.0
        self._failure: str | None = None
        self.written = 0

    # --- lifecycle -------------------------------------------------------------------
    async def start(self) -> None:
        await asyncio.to_thread(self._open)

    async def stop(self) -> None:
        async with self._lock:
            if self._segment is not None and self.settings.flush_interval_ms:
                await asyncio.to_thread(_fsync_path, self._segment)

    def _open(self) -> None:
        # The directory is made by the first write: a pipeline that rejects nothing leaves
        # no trace on disk.
        try:
            self._total = sum(p.stat().st_size for p in self.path.glob(f"*{SUFFIX}"))
        except OSError as exc:
            self._failure = f"dead-letter directory {self.path}: {exc}"
            self.log.error("%s; rejected events will wait until it can be written", self._failure)

    # --- writing ---------------------------------------------------------------------
    def ready(self) -> tuple[bool, str]:
        if self._failure is not None:
            return False, self._failure
        return True, ""

    async def write(self, records: list[DeadLetterRecord]) -> None:
        if not records:
            return
        data = b"".join(r.value.rstrip(b"\n") + b"\n" for r in records)
        async with self._lock:
            try:
                await asyncio.to_thread(self._append, data)
            except DeadLetterQueueUnavailable as exc:
                self._failure = str(exc)
                raise
            except OSError as exc:
                self._failure = f"dead-letter directory {self.path} not writable: {exc}"
                raise DeadLetterQueueUnavailable(self._failure) from exc
            self._failure = None
            self.written += len(records)

    def _append(self, data: bytes) -> None:
        limit = self.settings.max_bytes
        if self._total + len(data) > limit:
            # Segments may have been replayed or removed since: look again before refusing.
            self._total = sum(p.stat().st_size for p in self.path.glob(f"*{SUFFIX}"))
        if self._total + len(data) > limit:
            raise DeadLetterQueueUnavailable(
                f"dead-letter directory {self.path} is full ({self._total} of {limit} bytes, "
                f"max_bytes); replay or remove segments to make room")
        self.path.mkdir(parents=True, exist_ok=True)
        if self._segment is None or self._segment_bytes >= self.settings.max_segment_bytes:
            self._segment = self._next_segment()
            self._segment_bytes = 0
        fd = os.open(self._segment, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            interval = self.settings.flush_interval_ms / 1000.0
            now = time.monotonic()
            if interval == 0 or now - self._last_sync >= interval:
                os.fsync(fd)
                self._last_sync = now
        finally:
            os.close(fd)
        self._segment_bytes += len(data)
        self._total += len(data)

    def _next_segment(self) -> Path:
        numbers = [_number(p) for p in self.path.glob(f"*{SUFFIX}")]
        return self.path / f"{max(numbers, default=0) + 1:010d}{self._tag}{SUFFIX}"


def _number(path: Path) -> int:
    head = path.name.split("-", 1)[0].removesuffix(SUFFIX)
    return int(head) if head.isdigit() else 0


def _fsync_path(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def segments(path: str | os.PathLike[str]) -> list[Path]:
    """Segment files under ``path`` (a pipeline's directory or the root of several), oldest first."""
    root = Path(path)
    return sorted(root.rglob(f"*{SUFFIX}"), key=lambda p: (str(p.parent), _number(p), p.name))


def read_records(path: str | os.PathLike[str]) -> Iterator[tuple[Path, int, dict[str, object]]]:
    """(segment, line number, record) for every record under ``path``."""
    for segment in segments(path):
        with open(segment, "rb") as f:
            for n, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    record = orjson.loads(line)
                except orjson.JSONDecodeError:
                    record = {"error": {"type": "_undecodable_record"},
                              "raw": line.decode("utf-8", "replace")}
                yield segment, n, record if isinstance(record, dict) else {"value": record}
