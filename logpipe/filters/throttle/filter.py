"""The throttle filter: a counter per key and period, in this worker process.

A key's period opens with the first event of the key (by ``@timestamp``) and
lasts ``period`` seconds; the next event after it opens a new one. The n-th
event of a period is throttled when n < ``before_count`` or n > ``after_count``.
Counters live in an insertion-ordered dict, so forgetting the oldest (past
``max_counters``) and the expired (past ``max_age``) is cheap.
"""
from __future__ import annotations

from datetime import datetime

from logpipe.core.event import Event
from logpipe.core.plugin import Filter, PluginContext
from logpipe.core.sprintf import is_template
from logpipe.filters.common import CommonActions, text_of
from logpipe.filters.throttle.config import ThrottleConfig


class _Counter:
    __slots__ = ("start", "end", "count")

    def __init__(self, start: float, period: float) -> None:
        self.start = start
        self.end = start + period
        self.count = 0


class ThrottleFilter(Filter):
    """Applies the common options to the events over or under the counts."""

    Config = ThrottleConfig
    config: ThrottleConfig

    def __init__(self, config: ThrottleConfig, *, id: str,
                 context: PluginContext | None = None) -> None:
        super().__init__(config, id=id, context=context)
        self._key = text_of(config.key)
        self._period = text_of(config.period) if is_template(config.period) else None
        self._fixed_period = None if self._period else float(config.period)
        self._counters: dict[str, _Counter] = {}
        self._newest = float("-inf")
        self._next_sweep = float("-inf")
        self._actions = CommonActions(config)

    def _period_of(self, event: Event) -> float | None:
        if self._fixed_period is not None:
            return self._fixed_period
        assert self._period is not None
        try:
            value = float(self._period(event))
        except ValueError:
            return None
        return value if value > 0 else None

    def process(self, events: list[Event]) -> list[Event]:
        throttled: list[Event] = []
        before, after = self.config.before_count, self.config.after_count
        for event in events:
            period = self._period_of(event)
            if period is None:
                continue
            ts = event.data.get("@timestamp")
            now = ts.timestamp() if isinstance(ts, datetime) else event.timestamp.timestamp()
            self._newest = max(self._newest, now)
            key = self._key(event)
            counter = self._counters.get(key)
            if counter is None or not counter.start <= now < counter.end:
                if counter is not None:
                    del self._counters[key]
                counter = _Counter(now, period)
                self._counters[key] = counter
            counter.count += 1
            n = counter.count
            if (before != -1 and n < before) or (after != -1 and n > after):
                throttled.append(event)
        self._expire()
        self._actions.apply(throttled)
        return events

    def _expire(self) -> None:
        counters = self._counters
        while len(counters) > self.config.max_counters:
            del counters[next(iter(counters))]
        if self._newest < self._next_sweep:
            return   # expired counters are looked for at most once per tenth of max_age
        self._next_sweep = self._newest + self.config.max_age / 10
        horizon = self._newest - self.config.max_age
        stale = [k for k, c in counters.items() if c.end < horizon]
        for key in stale:
            del counters[key]
