"""logstash-patterns-core's spec suite (spec/patterns/*_spec.rb), replayed through logpipe's grok."""
from __future__ import annotations

from typing import Any

import pytest

from .grok_replay import check, load_cases

CASES = load_cases("patterns_core")


@pytest.mark.parametrize("case", [c for _, c in CASES], ids=[i for i, _ in CASES])
def test_case(case: dict[str, Any]) -> None:
    failures = check(case)
    assert not failures, "\n".join(failures)
