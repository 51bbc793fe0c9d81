"""Conformance suites: Logstash's own plugin spec cases, kept here as data.

Each ``test_<suite>.py`` module runs the cases of one Logstash spec suite through
logpipe. At the end of the run a line per suite says how many cases passed, so
the share against the target is visible without reading every test id. Cases
where logpipe deliberately differs from Logstash are written as such in the
data (with the reason, see docs/compatibility.md) and asserted as differences.
"""
from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

_results: dict[str, Counter[str]] = {}


def _suite(nodeid: str) -> str | None:
    path = nodeid.split("::", 1)[0]
    if "tests/conformance/" not in path:
        return None
    name = path.rsplit("/", 1)[-1]
    if not name.startswith("test_"):
        return None
    return name[len("test_"):].removesuffix(".py")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Any:
    outcome = yield
    report = outcome.get_result()
    suite = _suite(item.nodeid)
    if suite is None:
        return
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        _results.setdefault(suite, Counter())[report.outcome] += 1


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _results:
        return
    terminalreporter.write_sep("-", "conformance with Logstash's spec suites")
    for suite in sorted(_results):
        counts = _results[suite]
        total = sum(counts.values())
        passed = counts.get("passed", 0)
        share = 100.0 * passed / total if total else 0.0
        terminalreporter.write_line(
            f"conformance {suite}: {passed}/{total} cases pass ({share:.1f}%)")
