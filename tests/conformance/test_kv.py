"""logstash-filter-kv's spec cases (data/kv/*.yaml) through logpipe's kv."""
from __future__ import annotations

from typing import Any

import pytest

from logpipe.core.plugin import Filter
from logpipe.filters.kv import KvFilter
from tests.conformance import harness


def _faults(filt: Filter, case: harness.Case) -> None:
    """``fault: scan_raises``: the scan fails unexpectedly (the spec stubs its parser to raise)."""
    if case.raw.get("fault") == "scan_raises":
        def broken(*_args: Any, **_kwargs: Any) -> None:
            raise RuntimeError("intentional")
        filt._scan = broken  # type: ignore[attr-defined]


@pytest.mark.parametrize("case", harness.params("kv"))
def test_kv(case: harness.Case) -> None:
    harness.run(case, KvFilter, prepare=_faults)
