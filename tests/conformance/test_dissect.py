"""logstash-filter-dissect's spec cases (data/dissect/*.yaml) through logpipe's dissect."""
from __future__ import annotations

import pytest

from logpipe.filters.dissect import DissectFilter
from tests.conformance import harness


@pytest.mark.parametrize("case", harness.params("dissect"))
def test_dissect(case: harness.Case) -> None:
    harness.run(case, DissectFilter)
