"""Read positions of files, kept on disk between runs.

One line per file, as Logstash's sincedb writes it: ``inode major minor
position last_active path``. A file is known by its device and inode, not its
name, so a rotated (renamed) file keeps its position and a new file under the
old name starts afresh. The file is replaced atomically (write, then rename),
so a process killed mid-write leaves the previous positions intact.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass

log = logging.getLogger("logpipe.input.file")

Key = tuple[int, int]   # (st_dev, st_ino)


@dataclass
class Entry:
    position: int
    last_active: float
    path: str


class Sincedb:
    def __init__(self, path: str | None, clean_after: float) -> None:
        self.path = path
        self.clean_after = clean_after
        self.entries: dict[Key, Entry] = {}

    def load(self) -> None:
        if self.path is None or not os.path.exists(self.path):
            return
        with open(self.path, encoding="utf-8", errors="replace") as f:
            for lineno, line in enumerate(f, 1):
                parts = line.rstrip("\n").split(" ", 5)
                try:
                    ino, major, minor, pos = (int(p) for p in parts[:4])
                    last = float(parts[4]) if len(parts) > 4 else time.time()
                except (ValueError, IndexError):
                    log.warning("sincedb %s:%d: unreadable line skipped", self.path, lineno)
                    continue
                self.entries[(os.makedev(major, minor), ino)] = Entry(pos, last, parts[5] if len(parts) > 5 else "")

    def get(self, key: Key) -> Entry | None:
        return self.entries.get(key)

    def set(self, key: Key, position: int, path: str) -> None:
        self.entries[key] = Entry(position, time.time(), path)

    def save(self) -> None:
        if self.path is None:
            return
        horizon = time.time() - self.clean_after
        lines = [f"{ino} {os.major(dev)} {os.minor(dev)} {e.position} {e.last_active:.3f} {e.path}\n"
                 for (dev, ino), e in self.entries.items() if e.last_active >= horizon]
        parent = os.path.dirname(self.path)
        if parent:
            os.makedirs(parent, exist_ok=True)
        tmp = f"{self.path}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.writelines(lines)
        os.replace(tmp, self.path)
