"""Stop signals around the event loop's lifetime.

The loop's own handlers (``loop.add_signal_handler``) only exist while the loop
runs. Before that, ``logpipe run`` imports plugins and checks the pipeline for a
moment, and an orchestrator scaling down a pod that is still starting sends
SIGTERM right then: the default action would kill the process with nothing to
show for it. After the loop closes, the default action is back, and a repeated
SIGTERM (a terminal's and a supervisor's) would cut the last log lines off.

:func:`hold_early_stop` records a stop that arrives before the loop is up;
:func:`take_over_stops` routes stops through the loop and delivers a recorded
one at once, so the stop is the same graceful drain (of nothing, at that
point). :func:`release_stops` is for the end, once the drain is done.
"""
from __future__ import annotations

import asyncio
import signal
from types import FrameType
from typing import Callable

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_requested: str | None = None


def _remember(signum: int, frame: FrameType | None) -> None:
    global _requested
    _requested = signal.Signals(signum).name


def hold_early_stop() -> None:
    """Record SIGTERM/SIGINT instead of dying, until the loop installs its handlers."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, _remember)


def early_stop() -> str | None:
    """The name of a stop signal received before the loop took over, if any."""
    return _requested


def take_over_stops(loop: asyncio.AbstractEventLoop, on_stop: Callable[[str], object]) -> None:
    """SIGTERM/SIGINT call ``on_stop(name)`` in the loop; a stop recorded before is delivered now.

    Off the main thread (an in-process test) the loop cannot take signals; the
    caller's stop event still works.
    """
    for sig in STOP_SIGNALS:
        try:
            loop.add_signal_handler(sig, on_stop, sig.name)
        except (NotImplementedError, RuntimeError):
            pass
    if _requested is not None:
        on_stop(_requested)


def release_stops(loop: asyncio.AbstractEventLoop) -> None:
    """After the drain: further stop signals must not kill the process while it exits.

    The loop's handlers go first: closing the loop would otherwise put the
    default (fatal) action back.
    """
    for sig in STOP_SIGNALS:
        loop.remove_signal_handler(sig)
        signal.signal(sig, signal.SIG_IGN)


def reset() -> None:
    """Forget a recorded stop (tests, and a process that runs pipelines one after another)."""
    global _requested
    _requested = None
