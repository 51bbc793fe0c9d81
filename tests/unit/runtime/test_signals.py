"""A stop signal that arrives before the event loop is up still ends in a graceful stop."""
from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Iterator

import pytest

from logpipe.config.loader import load_text
from logpipe.runtime import signals
from logpipe.runtime.runner import run_pipeline

ENDLESS = "inputs: [{type: generator, count: 0, rate: 100, batch: 5}]\noutputs: [{type: file, path: '%s'}]\n"


@pytest.fixture
def restored_handlers() -> Iterator[None]:
    saved = {sig: signal.getsignal(sig) for sig in signals.STOP_SIGNALS}
    signals.reset()
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
        signals.reset()


def test_sigterm_before_the_loop_is_recorded_not_fatal(restored_handlers: None) -> None:
    signals.hold_early_stop()
    assert signals.early_stop() is None
    os.kill(os.getpid(), signal.SIGTERM)  # delivered synchronously to this thread
    assert signals.early_stop() == "SIGTERM"


def test_a_recorded_stop_drains_the_pipeline_as_soon_as_it_starts(restored_handlers: None,
                                                                  tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    spec = load_text(ENDLESS % out)
    signals.hold_early_stop()
    os.kill(os.getpid(), signal.SIGTERM)

    # Without the recorded stop this pipeline never ends (count 0 = endless): the
    # timeout turns that into a failure instead of a hang.
    clean = asyncio.run(asyncio.wait_for(run_pipeline(spec), timeout=30))
    assert clean is True


def test_without_a_recorded_stop_the_same_pipeline_keeps_running(restored_handlers: None,
                                                                 tmp_path: Path) -> None:
    """The counter-test: it is the recorded stop, not the pipeline, that ends the run."""
    spec = load_text(ENDLESS % (tmp_path / "out.jsonl"))

    async def scenario() -> bool:
        task = asyncio.create_task(run_pipeline(spec))
        done, _ = await asyncio.wait({task}, timeout=1.0)
        assert not done, "an endless pipeline stopped on its own"
        os.kill(os.getpid(), signal.SIGTERM)  # now the loop's handler takes it
        return await asyncio.wait_for(task, timeout=30)

    assert asyncio.run(scenario()) is True
