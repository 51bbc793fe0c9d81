"""A bounded memo of grok results per field value, used while the values repeat.

Some fields take few distinct values (``[url][original]``: a handful of routes
carry most requests); matching the same text again gives the same answer, so
the grok filter can remember, per text, which expression matched and its
capture texts, and store them into the next event with that text. What is
remembered is a plan and a tuple of strings: nothing mutable, so no two events
share an object they could change. A text that timed out is never remembered
(the timeout is raised before anything is).

Other fields (whole log lines) almost never repeat, and remembering them only
costs a lookup and an insertion per event. So the memo watches its own hit
rate: below a third of the lookups of a window it turns itself off, and tries
again after a while, in case the traffic changed (twice as long a while after
each poor try, so a field that never repeats pays for one window in a million
events at most).
"""
from __future__ import annotations

from typing import Any

#: What ``results.get`` answers for a text not yet seen.
UNKNOWN: Any = object()

#: Most texts remembered; the memo starts over when full.
SIZE = 4096
#: Longest text remembered: a URL or a user agent, not a whole request body (the
#: memo would otherwise hold up to SIZE of them alive after their events left).
MAX_TEXT = 2048
#: Lookups over which the hit rate is judged.
WINDOW = 1000
#: Events the memo stays off after a poor window (doubling up to MAX_PAUSE).
PAUSE = 50_000
MAX_PAUSE = 2_000_000


class ResultMemo:
    """Per-text results of one grok filter: None (no expression matched) or
    (the matching plan's ``apply``, capture texts)."""

    __slots__ = ("on", "results", "_lookups", "_hits", "_paused", "_pause")

    def __init__(self, *, enabled: bool) -> None:
        #: Whether the filter should consult the memo for its next batch.
        self.on = enabled
        self.results: dict[str, Any] = {}
        self._lookups = 0
        self._hits = 0
        #: Events still to pass while off (never counts down when not enabled).
        self._paused = 0 if enabled else -1
        self._pause = PAUSE

    def remember(self, text: str, result: Any) -> None:
        if len(text) > MAX_TEXT:
            return
        results = self.results
        if len(results) >= SIZE:
            results.clear()
        results[text] = result

    def judge(self, lookups: int, hits: int) -> None:
        """After a batch with the memo on: turn it off when too few lookups hit."""
        self._lookups += lookups
        self._hits += hits
        if self._lookups < WINDOW:
            return
        if self._hits * 3 < self._lookups:
            self.on = False
            self.results.clear()
            self._paused = self._pause
            self._pause = min(self._pause * 2, MAX_PAUSE)
        else:
            self._pause = PAUSE
        self._lookups = self._hits = 0

    def passed(self, events: int) -> None:
        """After a batch with the memo off: count down to the next try."""
        if self._paused < 0:
            return
        self._paused -= events
        if self._paused <= 0:
            self._paused = 0
            self.on = True
