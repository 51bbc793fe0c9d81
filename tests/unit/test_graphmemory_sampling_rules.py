"""What graphmemory's sampling always keeps, through the shipped pipeline's filters."""
from __future__ import annotations

from typing import Any

from tests.unit.graphmemory_support import Chain


def _requests(status: Any, count: int = 60) -> list[dict[str, Any]]:
    return [{"message": f"request {i}", "service": {"name": "graphmemory-api"},
             "http": {"request": {"method": "GET", "id": f"req-{status}-{i}"},
                      "response": {"status_code": status}},
             "url": {"path": "/api/memories"}} for i in range(count)]


def test_a_status_code_that_is_not_a_number_is_kept_whole() -> None:
    """Such events are malformed (Elasticsearch refuses them into the dead-letter queue):
    sampling must not thin them, or their trace is lost."""
    chain = Chain(LOGPIPE_SAMPLE_RATE="10")
    kept = chain.run(_requests("not-a-number"))
    assert len(kept) == 60
    # The same requests with a fast, successful status are thinned: the rule above is
    # what keeps the malformed ones.
    assert len(chain.run(_requests(200))) < 30
