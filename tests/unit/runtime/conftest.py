"""Helpers for runtime tests."""
from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest


@pytest.fixture
def restore_signals() -> Iterator[None]:
    """Code under test installs process signal handlers; put the test runner's back."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)
