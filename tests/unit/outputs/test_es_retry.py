"""The retry policy: which statuses are retried, rejected or already written; backoff."""
from __future__ import annotations

import pytest

from logpipe.outputs.elasticsearch.config import ElasticsearchConfig
from logpipe.outputs.elasticsearch.retry import RetryPolicy, Verdict


@pytest.mark.parametrize("status", [200, 201])
def test_success_statuses_are_delivered(status: int) -> None:
    assert RetryPolicy().item(status) is Verdict.DELIVERED


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504, 403, 401, 408])
def test_transient_item_statuses_are_retried(status: int) -> None:
    assert RetryPolicy().item(status, "whatever") is Verdict.RETRY


@pytest.mark.parametrize("status,kind", [(400, "mapper_parsing_exception"),
                                         (400, "document_parsing_exception"),
                                         (404, "index_not_found_exception")])
def test_document_errors_are_rejected(status: int, kind: str) -> None:
    assert RetryPolicy().item(status, kind) is Verdict.REJECT


def test_create_conflict_with_deterministic_ids_means_already_written() -> None:
    policy = RetryPolicy(deterministic_ids=True)
    assert policy.item(409, "version_conflict_engine_exception", "create") is Verdict.ALREADY_WRITTEN


def test_conflict_without_deterministic_ids_is_not_counted_as_written() -> None:
    assert RetryPolicy(deterministic_ids=False).item(
        409, "version_conflict_engine_exception", "create") is Verdict.REJECT
    assert RetryPolicy().item(409, "version_conflict_engine_exception", "index") is Verdict.REJECT


def test_custom_dlq_codes_extend_the_rejected_set() -> None:
    cfg = ElasticsearchConfig(dlq_custom_codes=[403])
    policy = RetryPolicy.from_config(cfg, deterministic_ids=True)
    assert policy.item(403, "cluster_block_exception") is Verdict.REJECT
    assert policy.item(400) is Verdict.REJECT
    assert policy.item(429) is Verdict.RETRY


@pytest.mark.parametrize("status,verdict", [
    (None, Verdict.RETRY), (429, Verdict.RETRY), (502, Verdict.RETRY), (503, Verdict.RETRY),
    (504, Verdict.RETRY), (500, Verdict.RETRY), (401, Verdict.RETRY), (413, Verdict.SPLIT),
    (400, Verdict.REJECT), (200, Verdict.DELIVERED)])
def test_request_level_statuses(status: int | None, verdict: Verdict) -> None:
    assert RetryPolicy().request(status) is verdict


def test_backoff_doubles_up_to_the_cap_with_jitter_in_the_upper_half() -> None:
    policy = RetryPolicy(initial_interval=1.0, max_interval=64.0)
    lows = [policy.delay(n, rand=lambda: 0.0) for n in range(1, 10)]
    highs = [policy.delay(n, rand=lambda: 1.0) for n in range(1, 10)]
    assert highs == [1, 2, 4, 8, 16, 32, 64, 64, 64]
    assert lows == [h / 2 for h in highs]


def test_backoff_is_random_between_bounds() -> None:
    policy = RetryPolicy(initial_interval=0.5, max_interval=4.0)
    delays = {policy.delay(3) for _ in range(50)}
    assert all(1.0 <= d <= 2.0 for d in delays)
    assert len(delays) > 1


def test_retries_are_unbounded_unless_configured() -> None:
    assert not RetryPolicy().exhausted(10_000)
    policy = RetryPolicy(max_retries=2)
    assert not policy.exhausted(2)
    assert policy.exhausted(3)
