"""The process tuning every worker entry point applies (logpipe.runtime.runner)."""
from __future__ import annotations

import asyncio
import gc
import sys
from collections.abc import Iterator

import pytest

from logpipe.runtime.runner import GC_YOUNG_THRESHOLD, GIL_SWITCH_INTERVAL, install_loop_policy


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
