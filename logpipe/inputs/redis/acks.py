"""In-order acknowledgement of list items, and re-submission of failed batches.

In reliable mode the processing list holds items in the order they were moved,
which is the order they were submitted. Releasing acknowledgements in that
same order means the items to remove are always at the head of the list, so
``LREM key 1 item`` finds each one immediately (and, for equal items, removes
the oldest copy, which is the right one).

A batch that failed stays at its place in the window: the input submits its
items again (decoded afresh, since filters may have changed the first copy)
and swaps in the new batch, so nothing behind it is released past it. An
outage fails many batches at once, so all failed entries are re-submitted
together after one pause.
Pure bookkeeping, no I/O.
"""
from __future__ import annotations

from collections import deque

from logpipe.core.batch import Batch


class Entry:
    __slots__ = ("batch", "items", "attempts")

    def __init__(self, batch: Batch, items: list[bytes]) -> None:
        self.batch = batch
        self.items = items
        #: How many times this entry's items were submitted again after a failure.
        self.attempts = 0


class AckWindow:
    def __init__(self) -> None:
        self._entries: deque[Entry] = deque()

    def add(self, batch: Batch, items: list[bytes]) -> Entry:
        entry = Entry(batch, items)
        self._entries.append(entry)
        return entry

    def release(self) -> list[bytes]:
        """Items of the delivered prefix, oldest first; they leave the window."""
        out: list[bytes] = []
        entries = self._entries
        while entries and entries[0].batch.delivered:
            out.extend(entries.popleft().items)
        return out

    def failed(self) -> list[Entry]:
        """Entries whose batch failed, oldest first: their items must be submitted again."""
        return [e for e in self._entries if e.batch.delivered is False]

    def replace(self, entry: Entry, batch: Batch) -> None:
        entry.batch = batch
        entry.attempts += 1

    def drop_all(self) -> list[Entry]:
        entries = list(self._entries)
        self._entries.clear()
        return entries

    @property
    def events(self) -> int:
        return sum(len(e.items) for e in self._entries)

    def __len__(self) -> int:
        return len(self._entries)
