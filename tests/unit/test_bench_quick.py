"""``logpipe bench``: the suite runs, writes its JSON, and its yardstick does logpipe's work.

No figure is asserted: benchmarks measure, tests check behaviour.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from logpipe.bench.common import Target
from logpipe.bench.pool import ensure_scrub_key, make_pool

ROW_KEYS = {"subject", "value", "unit", "ratio", "detail"}
TARGET_KEYS = {"name", "figure", "goal", "op", "unit", "met"}


def bench(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    out = tmp_path / "bench.json"
    env = {**os.environ, "LOGPIPE_SCRUB_KEY": "test-key"}
    proc = subprocess.run([sys.executable, "-m", "logpipe", "bench", "--quick", "--json", str(out), *args],
                          capture_output=True, text=True, timeout=280, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc, orjson.loads(out.read_bytes())


@pytest.mark.timeout(290)
def test_quick_regex_and_graphmemory_run_and_write_json(tmp_path: Path) -> None:
    proc, doc = bench(tmp_path, "--scenario", "regex", "--scenario", "graphmemory")
    assert doc["quick"] is True
    assert {"version", "started", "machine", "scenarios"} <= set(doc)
    assert doc["machine"]["cpus"] >= 1
    assert set(doc["scenarios"]) == {"regex", "graphmemory"}
    for name, scenario in doc["scenarios"].items():
        assert scenario["skipped"] is None, scenario["skipped"]
        assert scenario["rows"] and scenario["targets"], name
        for row in scenario["rows"]:
            assert set(row) == ROW_KEYS
            assert row["value"] > 0
        for target in scenario["targets"]:
            assert set(target) == TARGET_KEYS
    regex_subjects = [r["subject"] for r in doc["scenarios"]["regex"]["rows"]]
    assert any(s.startswith("logpipe") for s in regex_subjects)
    assert any(s.startswith("bare") for s in regex_subjects)
    gm = doc["scenarios"]["graphmemory"]
    assert {t["name"] for t in gm["targets"]} >= {"events per CPU-second per worker"}
    for key in ("equivalence", "equivalence_v1"):
        equivalence = gm["extra"][key]
        assert equivalence["identical"] == equivalence["documents"] > 0, key
    assert {r["subject"].split(" ")[0] for r in gm["rows"]} >= {"reference_v1", "reference", "logpipe,"}
    assert "logpipe bench" in proc.stdout  # the table


@pytest.mark.timeout(60)
def test_service_scenarios_are_skipped_with_a_reason_when_services_are_down(tmp_path: Path) -> None:
    with socket_that_refuses() as port:
        _, doc = bench(tmp_path, "--scenario", "e2e", "--scenario", "latency",
                       "--es-url", f"http://127.0.0.1:{port}", "--kafka-bootstrap", f"127.0.0.1:{port}")
    for name in ("e2e", "latency"):
        reason = doc["scenarios"][name]["skipped"]
        assert reason and "not reachable" in reason and str(port) in reason


@pytest.mark.parametrize("native", ["on", "off"])
def test_reference_loop_produces_the_pipelines_documents(native: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The yardstick is only fair if it does the same work: same documents out,
    with the native module (its scrub check) and without it (the JSON scan)."""
    from logpipe.bench.reference import Reference, compare

    monkeypatch.setenv("LOGPIPE_NATIVE", native)
    ensure_scrub_key()
    if native == "off":
        assert Reference().scrub_check is None
    total, identical, diffs = compare(make_pool(1500, seed=5))
    assert total == 1500
    assert identical == total, diffs[:1]


def test_reference_loop_batch_and_single_records_agree() -> None:
    """A batch (texts matched together, one scrub check) gives the documents that
    one record at a time (texts matched alone) gives."""
    from datetime import datetime, timezone

    from logpipe.bench.reference import Reference, canonical

    ensure_scrub_key()
    lines = make_pool(1500, seed=8)
    now = datetime.now(timezone.utc)
    batch = Reference(brute_force=False).run_batch(lines, now)
    single = Reference(brute_force=False)
    alone = [single.run(raw, now) for raw in lines]
    assert [canonical(*doc) for doc in batch] == [canonical(*doc) for doc in alone]


def test_frozen_reference_v1_loop_still_produces_the_pipelines_documents() -> None:
    from logpipe.bench.reference_v1 import compare

    ensure_scrub_key()
    total, identical, diffs = compare(make_pool(1500, seed=6))
    assert identical == total == 1500, diffs[:1]


def test_simple_reference_loop_produces_the_pipelines_documents() -> None:
    from logpipe.bench.simple_pipeline import make_pool as simple_pool
    from logpipe.bench.simple_reference import compare

    total, identical, diffs = compare(simple_pool(1500, seed=3))
    assert identical == total == 1500, diffs[:1]


def test_target_direction() -> None:
    assert Target("rate", 120.0, 100.0, ">=").met
    assert not Target("rate", 99.0, 100.0, ">=").met
    assert Target("p99", 240.0, 250.0, "<").met
    assert not Target("p99", 250.0, 250.0, "<").met


class socket_that_refuses:
    """A port nothing listens on (bound, never listening, so connections are refused)."""

    def __enter__(self) -> int:
        import socket
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        return int(self.sock.getsockname()[1])

    def __exit__(self, *_exc: object) -> None:
        self.sock.close()
