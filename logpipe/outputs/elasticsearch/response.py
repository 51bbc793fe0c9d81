"""A bulk response turned into what happened to each document.

The retry policy decides the verdict of a status; this module only walks the
response. A response with ``errors: false`` is settled without looking at its
items, which is the common case and keeps big batches cheap.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from logpipe.outputs.elasticsearch.retry import RetryPolicy, Verdict


@dataclass(slots=True)
class Rejection:
    """A document Elasticsearch will not take, with its reason."""

    slot: int  # position in the request
    status: int
    error: dict[str, Any]

    @property
    def error_type(self) -> str:
        return str(self.error.get("type", "unknown"))

    @property
    def reason(self) -> str:
        reason = str(self.error.get("reason", ""))
        caused = self.error.get("caused_by")
        if isinstance(caused, dict) and caused.get("reason"):
            reason = f"{reason}: {caused.get('type', '')}: {caused['reason']}" if reason else str(caused["reason"])
        return reason


@dataclass(slots=True)
class BulkResult:
    delivered: int = 0
    already_written: int = 0
    #: Positions (in the request) to send again.
    retry: list[int] = field(default_factory=list)
    #: Statuses of the items to retry, for the log line.
    retry_statuses: dict[int, int] = field(default_factory=dict)
    rejected: list[Rejection] = field(default_factory=list)


class MalformedResponse(ValueError):
    """The response does not match the request (an item count mismatch, no items)."""


def _as_error(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    return {"type": "unknown", "reason": str(value)}


def classify(response: Any, expected: int, policy: RetryPolicy, action: str) -> BulkResult:
    if not isinstance(response, dict) or not isinstance(response.get("items"), list):
        raise MalformedResponse("bulk response has no items")
    items = response["items"]
    if len(items) != expected:
        raise MalformedResponse(f"bulk response has {len(items)} items for {expected} documents")
    result = BulkResult()
    if not response.get("errors"):
        result.delivered = expected
        return result
    for slot, wrapped in enumerate(items):
        item = next(iter(wrapped.values())) if isinstance(wrapped, dict) and wrapped else {}
        status = int(item.get("status", 500))
        error = item.get("error")
        error_type = error.get("type") if isinstance(error, dict) else None
        verdict = policy.item(status, error_type, action)
        if verdict is Verdict.DELIVERED:
            result.delivered += 1
        elif verdict is Verdict.ALREADY_WRITTEN:
            result.already_written += 1
        elif verdict is Verdict.REJECT:
            result.rejected.append(Rejection(slot, status, _as_error(error)))
        else:
            result.retry.append(slot)
            result.retry_statuses[status] = result.retry_statuses.get(status, 0) + 1
    return result
