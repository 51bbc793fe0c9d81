"""The process tuning every worker entry point applies (logpipe.runtime.runner)."""
from __future__ import annotations

import asyncio
import gc
import sys
import weakref
from collections.abc import Iterator

import pytest

from logpipe.runtime.runner import (GC_YOUNG_THRESHOLD, GIL_SWITCH_INTERVAL, install_loop_policy,
                                    with_cycle_sweeps)


@pytest.fixture
def restore_process_settings() -> Iterator[None]:
    """install_loop_policy changes process-wide settings; put the test runner's back."""
    interval = sys.getswitchinterval()
    thresholds = gc.get_threshold()
    policy = asyncio.get_event_loop_policy()
    yield
    sys.setswitchinterval(interval)
    gc.set_threshold(*thresholds)
    gc.unfreeze()
    asyncio.set_event_loop_policy(policy)


def test_the_gil_is_handed_over_sooner_than_cpythons_default(restore_process_settings: None) -> None:
    sys.setswitchinterval(0.005)
    install_loop_policy()
    # setswitchinterval stores the value in microseconds: compare at that precision.
    assert sys.getswitchinterval() == pytest.approx(GIL_SWITCH_INTERVAL, abs=1e-6)
    assert GIL_SWITCH_INTERVAL < 0.005


def test_the_collector_is_tuned_for_many_short_lived_dicts(restore_process_settings: None) -> None:
    install_loop_policy()
    assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD
    # Well above what a worker keeps in flight (a full queue and a batch: some 50,000
    # containers), or young collections come every few thousand events.
    assert GC_YOUNG_THRESHOLD >= 10 * 50_000


class _Node:
    peer: _Node


def _orphan_cycle() -> asyncio.Event:
    """Two objects that refer to each other and to nothing else: only a collection
    frees them. The event is set when it does."""
    freed = asyncio.Event()
    a, b = _Node(), _Node()
    a.peer, b.peer = b, a
    weakref.finalize(a, freed.set)
    return freed


@pytest.fixture
def automatic_collection_off() -> Iterator[None]:
    """Only the sweep may collect: with the automatic collector on, the test could
    pass without it."""
    was_enabled = gc.isenabled()
    gc.disable()
    yield
    if was_enabled:
        gc.enable()


def test_cycle_sweeps_free_cyclic_garbage_on_a_clock(automatic_collection_off: None) -> None:
    async def main() -> bool:
        await asyncio.wait_for(_orphan_cycle().wait(), 10.0)
        return True

    assert asyncio.run(with_cycle_sweeps(main(), interval=0.01))


def test_cycle_sweeps_stop_with_what_they_run_beside() -> None:
    async def main() -> set[str]:
        await asyncio.sleep(0)
        return {task.get_name() for task in asyncio.all_tasks()}

    async def outer() -> tuple[set[str], set[str]]:
        during = await with_cycle_sweeps(main(), interval=3600.0)
        return during, {task.get_name() for task in asyncio.all_tasks()}

    during, after = asyncio.run(outer())
    assert "cycle-sweeps" in during
    assert "cycle-sweeps" not in after


def test_without_sweeps_the_cycle_stays(automatic_collection_off: None) -> None:
    """The other side of the first test: the cycle outlives a wait when nothing collects."""
    async def main() -> bool:
        try:
            await asyncio.wait_for(_orphan_cycle().wait(), 0.05)
        except asyncio.TimeoutError:
            return False
        return True

    assert not asyncio.run(main())
