"""Which failures are worth retrying, and how long to wait: pure policy, no I/O.

Elasticsearch says "later" with 429 (queues full) and 5xx (node trouble), and
"never" with 400 (mapping or parse error) and 404 (no such index or alias).
Like Logstash, only the "never" statuses are dead-lettered; any other status
is retried, because retrying an event costs time while dead-lettering one that
would have gone through costs a replay (a 403 from a read-only index during a
disk flood, a 401 while credentials rotate, both clear up by themselves).

A 409 on ``create`` with a deterministic id means the document is already
there: an earlier delivery of the same event succeeded.
"""
from __future__ import annotations

import enum
import random
from dataclasses import dataclass, field
from typing import Callable

VERSION_CONFLICT = "version_conflict_engine_exception"
DEFAULT_REJECT_STATUSES = frozenset({400, 404})


class Verdict(enum.Enum):
    DELIVERED = "delivered"
    ALREADY_WRITTEN = "already_written"
    RETRY = "retry"
    REJECT = "reject"
    #: Request too large (413): send its halves separately.
    SPLIT = "split"


@dataclass(frozen=True)
class RetryPolicy:
    initial_interval: float = 1.0
    max_interval: float = 64.0
    #: Retries before giving up on a request; None retries forever.
    max_retries: int | None = None
    reject_statuses: frozenset[int] = field(default=DEFAULT_REJECT_STATUSES)
    #: Whether ids are the same on redelivery (then a create conflict is a success).
    deterministic_ids: bool = True

    @classmethod
    def from_config(cls, cfg: object, deterministic_ids: bool) -> RetryPolicy:
        return cls(initial_interval=getattr(cfg, "retry_initial_interval"),
                   max_interval=getattr(cfg, "retry_max_interval"),
                   max_retries=getattr(cfg, "max_retries"),
                   reject_statuses=DEFAULT_REJECT_STATUSES | frozenset(getattr(cfg, "dlq_custom_codes")),
                   deterministic_ids=deterministic_ids)

    def item(self, status: int, error_type: str | None = None, action: str = "create") -> Verdict:
        """The verdict on one item of a bulk response."""
        if 200 <= status < 300:
            return Verdict.DELIVERED
        if status == 409 and action == "create" and self.deterministic_ids and \
                error_type in (None, VERSION_CONFLICT):
            return Verdict.ALREADY_WRITTEN
        if status in self.reject_statuses or status == 409:
            return Verdict.REJECT
        return Verdict.RETRY

    def request(self, status: int | None) -> Verdict:
        """The verdict on a whole request that did not get a bulk response.

        ``None`` stands for no HTTP answer at all (connection refused, reset,
        timed out): always retried.
        """
        if status is None:
            return Verdict.RETRY
        if 200 <= status < 300:
            return Verdict.DELIVERED
        if status == 413:
            return Verdict.SPLIT
        if status == 400:
            return Verdict.REJECT
        return Verdict.RETRY

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based).

        Exponential, capped, with "equal jitter": half the step is fixed, half
        random, so many writers that failed together do not come back together
        yet none retries immediately.
        """
        step = min(self.max_interval, self.initial_interval * (2.0 ** max(0, attempt - 1)))
        return step / 2.0 + rand() * step / 2.0

    def exhausted(self, retries: int) -> bool:
        return self.max_retries is not None and retries > self.max_retries
