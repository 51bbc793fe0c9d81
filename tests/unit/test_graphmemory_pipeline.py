"""The shipped graphmemory pipeline validates and passes its own test cases."""
from __future__ import annotations

from pathlib import Path

import pytest

from logpipe.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_graphmemory_pipeline_checks(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["check", "--pipeline", "graphmemory"]) == 0
    out = capsys.readouterr().out
    for plugin in ("beats (beats)", "http (http)", "kafka (kafka)", "redis (redis)", "scrub (scrub)",
                   "elasticsearch (elasticsearch)"):
        assert plugin in out


def test_graphmemory_cases_pass(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["test", "--pipeline", "graphmemory"]) == 0
    out = capsys.readouterr().out
    assert "0 failed" in out and "FAIL" not in out


def test_a_wrong_expectation_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(ROOT)
    cases = tmp_path / "cases.yaml"
    cases.write_text("""
env: {LOGPIPE_SCRUB_KEY: k}
tests:
  - name: wrong status on purpose
    input: '10.0.0.1 - - [26/Nov/2026:16:49:35 +0000] "GET /x HTTP/1.1" 200 1 "-" "curl/8.0" 0.001 r-1'
    expect: {"[http][response][status_code]": 500}
""")
    assert main(["test", "--pipeline", "graphmemory", "--cases", str(cases)]) == 1
    out = capsys.readouterr().out
    assert "FAIL wrong status on purpose" in out
    assert "expected 500, got 200" in out


def test_readme_documents_every_variable_the_pipeline_reads() -> None:
    import re

    used = set(re.findall(r"\$\{(LOGPIPE_\w+)", (ROOT / "pipelines" / "graphmemory.yaml").read_text()))
    readme = (ROOT / "README.md").read_text()
    missing = sorted(v for v in used if f"`{v}`" not in readme)
    assert not missing, f"README's variable table lacks {missing}"


def test_access_expressions_extract_without_a_time_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    # Their alternations and optional groups sit outside any repetition, so after the
    # RE2 gate stdlib ``re`` extracts the captures (see logpipe/filters/grok/README.md).
    from logpipe.config.loader import load_file
    from logpipe.filters.grok import GrokFilter

    monkeypatch.setenv("LOGPIPE_SCRUB_KEY", "k")
    spec = load_file(ROOT / "pipelines" / "graphmemory.yaml")
    engines = {e.id: e.cls(e.config, id=e.id).engines for e in spec.filters if e.cls is GrokFilter}
    assert engines == {"parse_access": {"[message]": ["gated", "gated"]},
                       "split_url": {"[url][original]": ["gated"]}}
