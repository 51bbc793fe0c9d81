"""``logpipe bench -s e2e --quick`` against the real Elasticsearch and Kafka.

Checks the run completes and that the figures describing how documents reached
Elasticsearch are there and consistent: every document was counted in a bulk
request, no request carried more than the output's ``batch_size``, and
Elasticsearch saw at least one shard operation per request. No rate is asserted.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from logpipe.bench.e2e import BULK_DOCS


@pytest.mark.timeout(280)
def test_quick_e2e_reports_request_shapes(tmp_path: Path, es_url: str, kafka_bootstrap: str) -> None:
    out = tmp_path / "bench.json"
    env = {**os.environ, "LOGPIPE_SCRUB_KEY": "test-key"}
    proc = subprocess.run(
        [sys.executable, "-m", "logpipe", "bench", "--quick", "--scenario", "e2e", "--no-pin-cores",
         "--es-url", es_url, "--kafka-bootstrap", kafka_bootstrap, "--json", str(out)],
        capture_output=True, text=True, timeout=270, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    scenario = orjson.loads(out.read_bytes())["scenarios"]["e2e"]
    assert scenario["skipped"] is None
    extra = scenario["extra"]
    for side in ("logpipe", "loader"):
        figures = extra[side]
        assert figures["documents"] >= extra["documents"]
        assert figures["bulk_requests"] >= 1
        assert 1 <= figures["docs_per_request"] <= BULK_DOCS
        assert figures["bulk_requests"] * figures["docs_per_request"] >= extra["documents"] - 0.5
        assert figures["shard_bulk_operations"] >= figures["bulk_requests"]
        assert figures["mean_in_flight"] > 0
    assert extra["loader"]["docs_per_request"] == BULK_DOCS
    for row in scenario["rows"]:
        assert "docs, " in row["detail"] and "in flight" in row["detail"]
