"""Realistic Logstash configurations (tests/data/logstash): accepted by check, the
expected documents through `logpipe filter -f`, and the same documents from the YAML
that `logpipe convert` writes."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from logpipe.cli import main

ROOT = Path(__file__).resolve().parents[4]
DATA = ROOT / "tests" / "data" / "logstash"
CASES = sorted(p.stem for p in DATA.glob("*.conf"))


def filter_docs(args: list[str], lines: str, expected: list[dict[str, Any]]) -> list[dict[str, Any]]:
    proc = subprocess.run([sys.executable, "-m", "logpipe", "filter", *args], input=lines,
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    docs = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(docs) == len(expected)
    for doc, want in zip(docs, expected):
        if "@timestamp" not in want:
            doc.pop("@timestamp")
    return docs


def test_there_are_realistic_cases() -> None:
    assert {"nginx-access", "syslog", "json-app", "kafka-to-es", "security"} <= set(CASES)


@pytest.mark.parametrize("case", CASES)
def test_realistic_config(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conf = DATA / f"{case}.conf"
    lines = (DATA / f"{case}.input").read_text()
    expected = [json.loads(line) for line in (DATA / f"{case}.expected.jsonl").read_text().splitlines()]

    assert main(["check", "-f", str(conf)]) == 0
    assert "configuration OK" in capsys.readouterr().out

    assert filter_docs(["-f", str(conf)], lines, expected) == expected

    yaml_path = tmp_path / f"{case}.yaml"
    assert main(["convert", str(conf), "-o", str(yaml_path)]) == 0
    assert filter_docs(["--pipeline", str(yaml_path)], lines, expected) == expected
