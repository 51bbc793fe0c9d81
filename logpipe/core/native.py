"""The optional native module, ``logpipe_native`` (built from ``native/``; docs/native.md).

logpipe runs without it: every caller asks here and keeps its Python path when
the answer is None. ``LOGPIPE_NATIVE=off`` gives that answer too, to rule the
native engines out when comparing or diagnosing.
"""
from __future__ import annotations

import os
from typing import Any, Sequence, TypeVar

T = TypeVar("T")


def native_module() -> Any:
    """``logpipe_native``, or None when it is not installed or turned off."""
    if os.environ.get("LOGPIPE_NATIVE", "").lower() in ("0", "off", "false", "no"):
        return None
    try:
        import logpipe_native
    except ImportError:
        return None
    return logpipe_native


def left_over(events: list[T], rest: Sequence[int]) -> list[T]:
    """The events a native batch call left to the Python loop, given the indices it
    answered (``rest``, in order): the batch itself when that is all of them."""
    return events if len(rest) == len(events) else [events[i] for i in rest]
