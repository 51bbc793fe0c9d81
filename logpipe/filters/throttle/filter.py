"""The throttle filter: counters per key and time slot, in this worker process.

As in Logstash, a key's slots are ``period`` seconds long and aligned on the
first event seen for the key (by ``@timestamp``, in whole seconds): slot =
epoch - (epoch - first) mod period. The n-th event of a slot is throttled when
n < ``before_count`` or n > ``after_count``. Slots older than ``max_age`` behind
the key's newest are dropped, keys idle for ``max_age`` behind the newest event
are forgotten, and beyond ``max_counters`` keys the oldest go first.
"""
from __future__ import annotations

import re
from datetime import datetime

from logpipe.core.event import Event
from logpipe.core.plugin import Filter, PluginContext
from logpipe.core.sprintf import is_template
from logpipe.filters.common import CommonActions, text_of
from logpipe.filters.throttle.config import ThrottleConfig

_LEADING_INT = re.compile(r"\s*([+-]?\d+)")
#: Logstash's fallback when the period does not read as a number.
DEFAULT_PERIOD = 60


def ruby_to_i(text: str) -> int:
    """Ruby's ``String#to_i``: the leading integer, 0 when there is none."""
    match = _LEADING_INT.match(text)
    return int(match.group(1)) if match else 0


class _Key:
    __slots__ = ("created", "latest", "slots")

    def __init__(self, epoch: int) -> None:
        self.created = epoch
        self.latest = epoch
        self.slots: dict[int, int] = {}


class ThrottleFilter(Filter):
    """Applies the common options to the events over or under the counts."""

    Config = ThrottleConfig
    runs_on_event_loop = True
    config: ThrottleConfig

    def __init__(self, config: ThrottleConfig, *, id: str,
                 context: PluginContext | None = None) -> None:
        super().__init__(config, id=id, context=context)
        self._key = text_of(config.key)
        self._period = text_of(config.period) if is_template(config.period) else None
        self._fixed_period = None if self._period else ruby_to_i(config.period)
        self._counters: dict[str, _Key] = {}
        self._newest = 0
        self._next_sweep = 0
        self._actions = CommonActions(config)

    def _period_of(self, event: Event) -> int:
        if self._fixed_period is not None:
            return self._fixed_period
        assert self._period is not None
        period = ruby_to_i(self._period(event))
        return period if period > 0 else DEFAULT_PERIOD

    def process(self, events: list[Event]) -> list[Event]:
        throttled: list[Event] = []
        before, after = self.config.before_count, self.config.after_count
        max_age = self.config.max_age
        for event in events:
            period = self._period_of(event)
            ts = event.data.get("@timestamp")
            epoch = int((ts if isinstance(ts, datetime) else event.timestamp).timestamp())
            self._newest = max(self._newest, epoch)
            key = self._key(event)
            state = self._counters.get(key)
            if state is None:
                state = self._counters[key] = _Key(epoch)
            state.latest = max(state.latest, epoch)
            slot = epoch - (epoch - state.created) % period
            slots = state.slots
            count = slots.get(slot, 0) + 1
            slots[slot] = count
            if count == 1 and len(slots) > 1:    # a new slot: drop the ones too old
                oldest = max(slots) - max_age
                for old in [s for s in slots if s < oldest]:
                    del slots[old]
            if (before != -1 and count < before) or (after != -1 and count > after):
                throttled.append(event)
        self._expire()
        self._actions.apply(throttled)
        return events

    def _expire(self) -> None:
        counters = self._counters
        while len(counters) > self.config.max_counters:
            del counters[next(iter(counters))]
        if self._newest < self._next_sweep:
            return   # idle keys are looked for at most once per tenth of max_age
        self._next_sweep = self._newest + max(1, int(self.config.max_age / 10))
        horizon = self._newest - self.config.max_age
        for key in [k for k, state in counters.items() if state.latest < horizon]:
            del counters[key]
