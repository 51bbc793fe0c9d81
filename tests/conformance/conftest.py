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
        counts = _results.setdefault(suite, Counter())
        counts[report.outcome] += 1
        if "[known difference]" in item.nodeid and report.outcome == "passed":
            counts["known"] += 1


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _results:
        return
    terminalreporter.write_sep("-", "conformance with Logstash's spec suites")
    overall: Counter[str] = Counter()
    for counts in _results.values():
        overall.update(counts)
    for suite in [*sorted(_results), "overall"]:
        counts = overall if suite == "overall" else _results[suite]
        known = counts.get("known", 0)
        total = sum(n for outcome, n in counts.items() if outcome != "known")
        same = counts.get("passed", 0) - known
        share = 100.0 * same / total if total else 0.0
        terminalreporter.write_line(
            f"conformance {suite}: {same}/{total} cases give Logstash's result ({share:.1f}%), "
            f"{known} documented differences, {total - same - known} failing")
