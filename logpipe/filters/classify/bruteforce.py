"""Failed logins per source over a sliding window.

Each worker keeps its own counts (logpipe keeps no shared state): with Beats
and HTTP traffic spread over replicas, a source's attempts usually land on one
connection and so one worker; a spread-out attack is caught later or by an
Elasticsearch rule over the ``login_failure`` tags.

Memory is bounded twice: a source keeps at most ``threshold`` timestamps (only
whether that many fall inside the window matters), and at most
``max_sources`` sources are kept, the least recently seen dropped first.
"""
from __future__ import annotations

from collections import OrderedDict, deque
from typing import Callable


class BruteForceTracker:
    def __init__(self, *, threshold: int, window: float, max_sources: int,
                 clock: Callable[[], float]) -> None:
        self.threshold = threshold
        self.window = window
        self.max_sources = max_sources
        self.clock = clock
        self._sources: OrderedDict[str, deque[float]] = OrderedDict()

    def failure(self, source: str) -> bool:
        """Record a failed login; True when the source is at or over the threshold."""
        now = self.clock()
        times = self._sources.get(source)
        if times is None:
            times = deque(maxlen=self.threshold)
            self._sources[source] = times
            if len(self._sources) > self.max_sources:
                self._sources.popitem(last=False)
        else:
            self._sources.move_to_end(source)
        times.append(now)
        return len(times) >= self.threshold and now - times[0] <= self.window

    def active(self, source: str) -> bool:
        """Whether ``source`` is over the threshold right now (without recording)."""
        times = self._sources.get(source)
        return (times is not None and len(times) >= self.threshold
                and self.clock() - times[0] <= self.window)

    def __len__(self) -> int:
        return len(self._sources)
