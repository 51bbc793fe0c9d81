"""Which HTTP outcomes are retried, and how long to wait before the next try.

A status in ``retryable_codes`` (429 and 5xx by default) is retried while
``retry_failed`` is on; a connection error ``automatic_retries`` times; any other
non-2xx status (and not ignorable) is final. A ``Retry-After`` in seconds is
honoured, capped by ``retry_max_interval``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from logpipe.outputs.http.config import HttpOutputConfig

Verdict = Literal["done", "retry", "fail"]


@dataclass
class Policy:
    cfg: HttpOutputConfig

    def status(self, code: int) -> Verdict:
        if 200 <= code < 300 or code in self.cfg.ignorable_codes:
            return "done"
        if self.cfg.retry_failed and code in self.cfg.retryable_codes:
            return "retry"
        return "fail"

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        cfg = self.cfg
        if retry_after and retry_after.strip().isdigit():
            return min(float(retry_after), cfg.retry_max_interval)
        return min(cfg.retry_initial_interval * (2 ** attempt), cfg.retry_max_interval)
