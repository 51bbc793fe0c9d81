"""What the ``elasticsearch`` output publishes to /metrics.

The children are fetched once at start, so recording a request is a few
attribute updates. Retries are labelled by why they happened, which is what an
operator needs to tell a saturated cluster (429) from an unreachable one.
"""
from __future__ import annotations

from typing import Any

from logpipe.core.telemetry import SIZE_BUCKETS, MetricsRegistry


class BulkMetrics:
    def __init__(self, registry: MetricsRegistry, plugin_id: str) -> None:
        self._registry = registry
        self._id = plugin_id
        labels = {"id": plugin_id}
        self.bulk_size = registry.histogram(
            "output_bulk_size", labels, buckets=SIZE_BUCKETS, help="Documents per bulk request.")
        self.request_seconds = registry.histogram(
            "output_request_seconds", labels, help="Time from sending a bulk request to its answer.")
        self._documents = {
            result: registry.counter("output_documents_total", {"id": plugin_id, "result": result},
                                     help="Documents settled by Elasticsearch, by outcome.")
            for result in ("written", "already_written", "rejected")}
        # The common reasons exist from the start at zero, so that rate() over them (the
        # dashboard's retries panel) has a series before the first retry.
        self._retries: dict[str, Any] = {
            reason: registry.counter("output_retries_total", {"id": plugin_id, "reason": reason},
                                     help="Bulk requests sent again, by why.")
            for reason in ("429", "unreachable")}

    def documents(self, written: int, already_written: int, rejected: int) -> None:
        if written:
            self._documents["written"].inc(written)
        if already_written:
            self._documents["already_written"].inc(already_written)
        if rejected:
            self._documents["rejected"].inc(rejected)

    def retry(self, reason: str) -> None:
        child = self._retries.get(reason)
        if child is None:
            child = self._retries[reason] = self._registry.counter(
                "output_retries_total", {"id": self._id, "reason": reason},
                help="Bulk requests sent again, by why.")
        child.inc()

    def dead_lettered(self, reason: str, count: int) -> None:
        self._registry.counter("dlq_events_total", {"id": self._id, "reason": reason},
                               help="Events written to the dead-letter queue, by reason.").inc(count)
