"""A Hyperscan pattern set answers in two threads at once.

A database's own scratch space serves one scan at a time, and a scan lets other
threads run; a filter and an output's scrub step (or two pipelines) may share a
set. The second scan must get its answer, not ScratchInUseError.
"""
from __future__ import annotations

import threading
from typing import Any

import pytest

from logpipe.filters.patternset import PatternSet, _hs_database, _scanner, available_engines

pytestmark = pytest.mark.skipif("hyperscan" not in available_engines(),
                                reason="hyperscan has no wheel for this platform")


def test_a_scan_while_another_thread_is_inside_its_scan_gets_its_answer() -> None:
    import hyperscan

    db = _hs_database([b"needle"], [0], [hyperscan.HS_FLAG_SINGLEMATCH])
    scan = _scanner(db)
    inside, other_done = threading.Event(), threading.Event()
    other: dict[str, Any] = {}

    def first(pattern: int, _start: int, _end: int, _flags: int, found: list[int]) -> None:
        found.append(pattern)
        inside.set()
        # Hold this scan (and the database's scratch) open until the other is done.
        assert other_done.wait(10), "the second scan never finished"

    def second_thread() -> None:
        assert inside.wait(10)
        try:
            found: list[int] = []
            scan(b"hay needle hay", lambda p, s, e, f, ctx: ctx.append(p), 0, found)
            other["found"] = found
        except Exception as exc:  # noqa: BLE001 - reported below
            other["error"] = exc
        finally:
            other_done.set()

    thread = threading.Thread(target=second_thread)
    thread.start()
    mine: list[int] = []
    scan(b"a needle", first, 0, mine)
    thread.join(10)
    assert other == {"found": [0]}
    assert mine == [0]


def test_a_shared_set_gives_every_thread_the_same_answers() -> None:
    patterns = PatternSet([("foo.*bar", False), ("ba+z", True)], "hyperscan", ends=True)
    text = "x" * 50_000 + " foo bar BAAZ"
    answers: list[tuple[int, ...]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(3)

    def work() -> None:
        start.wait()
        try:
            for _ in range(200):
                answers.append(tuple(sorted(patterns.match(text))))
                answers.append(tuple(sorted(p for p, _ in patterns.scan_ends(text.encode()) or [])))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert len(answers) == 1200 and set(answers) == {(0, 1)}
