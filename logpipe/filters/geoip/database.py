"""A memory-mapped MaxMind database that follows its file on disk.

Operators replace GeoLite2 files in place (a cron job or a mounted volume that
updates). Every ``check_interval`` seconds the file's inode, size and
modification time are compared with those of the open copy (one ``stat`` call);
when they differ the file is opened again and the new reader replaces the old
one. A file caught half-written fails to open: the old reader stays in service
and the next check tries again.

Replace files by renaming a complete file over the old one (as ``geoipupdate``
does), never by writing into the file in place: a mapped file that shrinks
under a reader can fault the process.
"""
from __future__ import annotations

import logging
import os
import time
from typing import Any, Callable

import maxminddb
from maxminddb.errors import InvalidDatabaseError

Signature = tuple[int, int, int]


class DatabaseUnavailable(Exception):
    """The database file is missing or not a readable MaxMind database."""


def _open(path: str) -> Any:
    try:
        return maxminddb.open_database(path, maxminddb.MODE_MMAP_EXT)
    except ValueError as exc:
        if "extension" not in str(exc).lower():
            raise
    # The C extension is not built for this platform: the pure-Python reader
    # still maps the file into memory, it is only slower per lookup.
    return maxminddb.open_database(path, maxminddb.MODE_MMAP)


def _signature(path: str) -> Signature | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


class WatchedDatabase:
    """One database file, re-opened when it changes."""

    def __init__(self, path: str, *, check_interval: float,
                 clock: Callable[[], float] = time.monotonic,
                 log: logging.Logger | None = None,
                 expect_asn: bool = False) -> None:
        self.path = path
        self.check_interval = check_interval
        self.clock = clock
        self.log = log or logging.getLogger(__name__)
        self.expect_asn = expect_asn
        self.reader: Any = None
        self.problem: str | None = None
        self._signature: Signature | None = None
        self._next_check = 0.0

    @property
    def available(self) -> bool:
        return self.reader is not None

    def open(self) -> None:
        """Open the file now; raise :class:`DatabaseUnavailable` when that fails."""
        signature = _signature(self.path)
        if signature is None:
            self.problem = f"database file {self.path!r} does not exist or cannot be read"
            raise DatabaseUnavailable(self.problem)
        try:
            reader = _open(self.path)
        except (OSError, InvalidDatabaseError, ValueError) as exc:
            self.problem = f"database file {self.path!r} is not a MaxMind database: {exc}"
            raise DatabaseUnavailable(self.problem) from exc
        kind = str(reader.metadata().database_type)
        if ("ASN" in kind) != self.expect_asn:
            reader.close()
            wanted = "an ASN" if self.expect_asn else "a City or Country"
            self.problem = f"database file {self.path!r} is {kind}, expected {wanted} database"
            raise DatabaseUnavailable(self.problem)
        old, self.reader, self._signature, self.problem = self.reader, reader, signature, None
        self._next_check = self.clock() + self.check_interval
        if old is not None:
            old.close()

    def refresh(self) -> bool:
        """Re-open the file if it changed since it was opened; True when it was."""
        now = self.clock()
        if now < self._next_check:
            return False
        self._next_check = now + self.check_interval
        signature = _signature(self.path)
        if signature == self._signature or signature is None:
            # A file that vanished keeps being served from the open mapping.
            return False
        try:
            self.open()
        except DatabaseUnavailable as exc:
            self.log.warning("geoip: keeping the previous database: %s", exc)
            self._signature = signature  # do not retry the same broken file every batch
            return False
        self.log.info("geoip: re-opened %s", self.path)
        return True

    def get_network(self, address: Any) -> tuple[Any, int]:
        """The record and the depth of its leaf: every address sharing that many
        leading bits has the same record (see logpipe.filters.geoip.networks)."""
        found: tuple[Any, int] = self.reader.get_with_prefix_len(address)
        return found

    def close(self) -> None:
        if self.reader is not None:
            self.reader.close()
            self.reader = None
