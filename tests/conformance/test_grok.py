"""logstash-filter-grok's spec suite (spec/filters/grok_spec.rb), replayed through logpipe's grok."""
from __future__ import annotations

from typing import Any

import pytest

from .grok_replay import check, load_cases

CASES = load_cases("grok")


@pytest.mark.parametrize("case", [c for _, c in CASES], ids=[i for i, _ in CASES])
def test_case(case: dict[str, Any]) -> None:
    failures = check(case)
    assert not failures, "\n".join(failures)
