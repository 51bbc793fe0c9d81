"""A local append-only file that holds dead-letter records while Kafka is away.

Appends are fsynced before ``append`` returns: a record handed to the spill
file survives a crash, so acknowledging its batch is safe. Draining renames
the file to ``<path>.draining`` first, so new spills go to a fresh file while
the old one is sent; progress (lines confirmed by Kafka) is recorded in
``<path>.draining.done``, so a drain interrupted half way resumes where it
stopped instead of sending everything again.

A spill file records its destination (``<path>.destination``: brokers and
topic) when it is first written, and is drained only to that destination: a
file left behind by one pipeline is never emptied into another one's topic,
even when both run from the same directory.
"""
from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Iterator


class SpillFile:
    def __init__(self, path: str | os.PathLike[str], destination: str | None = None) -> None:
        self.path = Path(path)
        self.draining = self.path.with_name(self.path.name + ".draining")
        self.progress = self.path.with_name(self.path.name + ".draining.done")
        self.destination_file = self.path.with_name(self.path.name + ".destination")
        #: Where this file's records belong (None: anywhere, for old files and tests).
        self.destination = destination
        self._lock = asyncio.Lock()

    def recorded_destination(self) -> str | None:
        try:
            return self.destination_file.read_text(encoding="utf-8").strip() or None
        except OSError:
            return None

    def foreign(self) -> str | None:
        """The other destination this file's records belong to, if it is not ours."""
        if self.destination is None:
            return None
        recorded = self.recorded_destination()
        return recorded if recorded is not None and recorded != self.destination else None

    # --- writing -----------------------------------------------------------------
    def _append_sync(self, lines: list[bytes]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        foreign = self.foreign()
        if foreign is not None:
            raise OSError(f"spill file {self.path} holds records for {foreign}; not mixing "
                          f"records for {self.destination} into it")
        if self.destination is not None and not self.destination_file.exists():
            _write_text(self.destination_file, self.destination)
        data = b"".join(line.rstrip(b"\n") + b"\n" for line in lines)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)

    async def append(self, lines: list[bytes]) -> None:
        if not lines:
            return
        async with self._lock:
            await asyncio.to_thread(self._append_sync, lines)

    # --- draining ------------------------------------------------------------------
    def pending(self) -> bool:
        """Whether anything waits to be drained (to this file's own destination)."""
        if self.foreign() is not None:
            return False
        return _nonempty(self.draining) or _nonempty(self.path)

    async def take(self) -> Path | None:
        """The file to drain next (an interrupted drain first), or None."""
        async with self._lock:
            if self.foreign() is not None:
                return None
            if self.draining.exists():
                return self.draining
            if not _nonempty(self.path):
                return None
            os.replace(self.path, self.draining)
            _write_progress(self.progress, 0)
            return self.draining

    def read(self, batch: int = 500) -> Iterator[tuple[int, list[bytes]]]:
        """(lines done after this chunk, chunk) for the unconfirmed part of the draining file."""
        done = _read_progress(self.progress)
        n = 0
        chunk: list[bytes] = []
        with open(self.draining, "rb") as f:
            for line in f:
                n += 1
                if n <= done:
                    continue
                line = line.rstrip(b"\n")
                if not line:
                    continue
                chunk.append(line)
                if len(chunk) >= batch:
                    yield n, chunk
                    chunk = []
        if chunk:
            yield n, chunk

    def confirm(self, lines_done: int) -> None:
        _write_progress(self.progress, lines_done)

    def finish(self) -> None:
        """The draining file is fully in Kafka: remove it."""
        for path in (self.draining, self.progress):
            try:
                path.unlink()
            except FileNotFoundError:
                pass
        if not _nonempty(self.path):
            try:
                self.destination_file.unlink()
            except FileNotFoundError:
                pass


def _nonempty(path: Path) -> bool:
    # Any failure to look (missing file, a file where the directory should be, no
    # permission) means there is nothing we could drain right now.
    try:
        return path.stat().st_size > 0
    except OSError:
        return False


def _read_progress(path: Path) -> int:
    try:
        return int(path.read_text().strip() or 0)
    except (FileNotFoundError, ValueError):
        return 0


def _write_progress(path: Path, value: int) -> None:
    _write_text(path, str(value))


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
