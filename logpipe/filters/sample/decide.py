"""The sampling decision, apart from events: hashes, per-key state, dynamic rates.

Two ways to decide, both deterministic:

- an event with a request/trace id is kept when a 64-bit keyed hash of the id
  falls in the first 1/rate of the hash space. The hash is BLAKE2b (never
  Python's per-process salted ``hash``), so every worker and every replica
  decides the same for the same id; and because the kept slice for rate 10 lies
  inside the slice for rate 5, the events of one request agree even when their
  keys run at different rates of the same family;
- an event without one is kept every ``rate``-th time its key is seen.

Weights are exact bookkeeping rather than an estimate: each kept event carries
the number of events of its key seen since the previous kept one (itself
included), so summing weights gives the events seen, short only of the dropped
tail after each key's last kept event.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

_SPACE = float(1 << 64)
OTHER = "_other"


def id_fraction(identifier: str, seed: bytes) -> float:
    """Where an id falls in [0, 1): the same on every machine for the same seed."""
    digest = hashlib.blake2b(identifier.encode("utf-8", "surrogatepass"), digest_size=8, key=seed).digest()
    return int.from_bytes(digest, "big") / _SPACE


@dataclass(slots=True)
class KeyState:
    """One key's counters in this worker."""

    rate: int = 1
    since_kept: int = 0  # events seen since the last kept one
    seen: int = 0  # events seen, for the systematic choice
    window_count: int = 0  # events in the current dynamic window


class Sampler:
    """Per-key state and the keep/drop decision."""

    def __init__(self, rate: int, *, target_per_second: float | None = None,
                 window_seconds: float = 10.0, max_keys: int = 1000, seed: str = "logpipe") -> None:
        self.max_rate = rate
        self.target = target_per_second
        self.window = window_seconds
        self.max_keys = max_keys
        self.seed = seed.encode()[:64]
        self.keys: dict[str, KeyState] = {}
        self._window_start: float | None = None

    def state(self, key: str) -> tuple[str, KeyState]:
        """The key's state, folding keys past ``max_keys`` into ``_other``."""
        st = self.keys.get(key)
        if st is None:
            if len(self.keys) >= self.max_keys:
                key = OTHER
                st = self.keys.get(key)
            if st is None:
                st = self.keys[key] = KeyState(rate=1 if self.target else self.max_rate)
        return key, st

    def tick(self, now: float) -> None:
        """Dynamic mode: at each window's end, set every key's rate from its traffic."""
        if self.target is None:
            return
        if self._window_start is None:
            self._window_start = now
            return
        elapsed = now - self._window_start
        if elapsed < self.window:
            return
        budget = self.target * elapsed
        for st in self.keys.values():
            st.rate = min(self.max_rate, max(1, math.ceil(st.window_count / budget)))
            st.window_count = 0
        self._window_start = now

    def decide(self, st: KeyState, identifier: str | None) -> int:
        """0 to drop; otherwise the weight of the kept event."""
        st.since_kept += 1
        st.seen += 1
        st.window_count += 1
        rate = st.rate
        if rate <= 1:
            keep = True
        elif identifier is not None:
            keep = id_fraction(identifier, self.seed) * rate < 1.0
        else:
            keep = st.seen % rate == 1 % rate
        if not keep:
            return 0
        weight = st.since_kept
        st.since_kept = 0
        return weight
