"""Turning bulk responses into per-document outcomes."""
from __future__ import annotations

import pytest

from logpipe.outputs.elasticsearch.response import MalformedResponse, classify
from logpipe.outputs.elasticsearch.retry import RetryPolicy


def _item(status: int, error: dict | None = None, action: str = "create") -> dict:
    body: dict = {"status": status}
    if error is not None:
        body["error"] = error
    return {action: body}


def test_errors_false_settles_everything_without_reading_items() -> None:
    response = {"errors": False, "items": [{"create": {}}] * 3}
    result = classify(response, 3, RetryPolicy(), "create")
    assert result.delivered == 3
    assert not result.retry and not result.rejected


def test_mixed_response_is_split_by_verdict() -> None:
    mapping = {"type": "document_parsing_exception", "reason": "failed to parse field [source.ip]",
               "caused_by": {"type": "illegal_argument_exception", "reason": "'x' is not an IP"}}
    response = {"errors": True, "items": [
        _item(201),
        _item(429, {"type": "es_rejected_execution_exception", "reason": "queue full"}),
        _item(400, mapping),
        _item(409, {"type": "version_conflict_engine_exception", "reason": "exists"}),
        _item(503, {"type": "unavailable_shards_exception", "reason": "primary"}),
    ]}
    result = classify(response, 5, RetryPolicy(), "create")
    assert result.delivered == 1
    assert result.already_written == 1
    assert result.retry == [1, 4]
    assert result.retry_statuses == {429: 1, 503: 1}
    assert [(r.slot, r.status, r.error_type) for r in result.rejected] == [
        (2, 400, "document_parsing_exception")]
    assert "is not an IP" in result.rejected[0].reason
    assert result.rejected[0].reason.startswith("failed to parse field [source.ip]")


def test_item_count_mismatch_is_malformed() -> None:
    with pytest.raises(MalformedResponse):
        classify({"errors": False, "items": [{"create": {"status": 201}}]}, 2, RetryPolicy(), "create")
    with pytest.raises(MalformedResponse):
        classify({"error": "boom"}, 1, RetryPolicy(), "create")


def test_error_that_is_a_string_still_gives_a_reason() -> None:
    response = {"errors": True, "items": [_item(400, "broken")]}  # type: ignore[arg-type]
    result = classify(response, 1, RetryPolicy(), "create")
    assert result.rejected[0].reason == "broken"
    assert result.rejected[0].error_type == "unknown"
