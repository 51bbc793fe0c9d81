"""A translate dictionary read from a file and re-read when the file changes.

Each worker process holds its own copy and checks the file's modification time
and size at most every ``refresh_interval`` seconds, from the filter call: no
thread, so nothing to stop, and a worker that sees no events does no I/O.
"""
from __future__ import annotations

import csv
import json
import logging
import os
import time
from typing import Any

import yaml

from logpipe.errors import ConfigError

log = logging.getLogger("logpipe.filter.translate")


def read_dictionary(path: str, code_point_limit: int | None = None) -> dict[str, Any]:
    """Parse a YAML, JSON or CSV dictionary; raises ValueError or OSError."""
    with open(path, encoding="utf-8", newline="") as handle:
        text = handle.read()
    lower = path.lower()
    if not text.strip():
        return {}    # an empty file is an empty dictionary (Logstash starts with it too)
    if lower.endswith(".csv"):
        rows = csv.reader(text.splitlines())
        data: Any = {row[0]: (row[1] if len(row) > 1 else None) for row in rows if row}
    elif lower.endswith(".json"):
        data = json.loads(text)
    else:
        if code_point_limit is not None and len(text) > code_point_limit:
            raise ValueError(f"{len(text)} characters, more than "
                             f"yaml_dictionary_code_point_limit {code_point_limit}")
        data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ValueError("the file must hold one mapping of value -> translation")
    return {str(k): v for k, v in data.items()}


class FileDictionary:
    """The dictionary of ``path``, reloaded on change (``merge`` or ``replace``)."""

    def __init__(self, path: str, *, refresh_interval: float, merge: bool,
                 code_point_limit: int | None = None) -> None:
        self.path = path
        self.refresh_interval = refresh_interval
        self.merge = merge
        self.code_point_limit = code_point_limit
        try:
            self._signature = self._stat()
            self.entries = read_dictionary(path, code_point_limit)
        except (OSError, ValueError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read dictionary {path}: {exc}",
                              path="dictionary_path") from None
        self._next_check = time.monotonic() + refresh_interval
        #: Bumped on every successful reload, so callers can rebuild derived tables.
        self.version = 0

    def _stat(self) -> tuple[int, int, int]:
        st = os.stat(self.path)
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def refresh(self, now: float | None = None) -> bool:
        """Re-read the file if it is time to look and it changed; True when reloaded."""
        if self.refresh_interval <= 0:
            return False
        now = time.monotonic() if now is None else now
        if now < self._next_check:
            return False
        self._next_check = now + self.refresh_interval
        try:
            signature = self._stat()
            if signature == self._signature:
                return False
            fresh = read_dictionary(self.path, self.code_point_limit)
        except (OSError, ValueError, yaml.YAMLError) as exc:
            log.warning("dictionary %s could not be re-read (%s); keeping the previous one",
                        self.path, exc)
            return False
        self._signature = signature
        if self.merge:
            self.entries = {**self.entries, **fresh}
        else:
            self.entries = fresh
        self.version += 1
        log.info("dictionary %s reloaded: %d entries", self.path, len(self.entries))
        return True
