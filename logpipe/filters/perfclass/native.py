"""The ``perfclass`` batch loop's common case as one native call per batch.

``logpipe_native.PerfBatch`` (native/src/perfclass.rs) does for a run of events
what the generated loop (:mod:`.loop`) does when every step takes its common
branch, and stops at the first event that needs anything else: a tag, a
``performance`` object to update, a duration or field of another type or
shape. The loop handles that event, and the call resumes after it, so the
events are handled in their order. A path the memo does not hold yet is
remembered where the Python loop remembers it, as ``_remember`` (and
``_remember_method``) do it: natively when the route table's tests are the
plain ones (texts a path contains or ends with, methods in ASCII), else by
calling those methods; the memo goes through the same states as without the
module. An event the call stops at is untouched.

The call is made only for the settings whose writes cannot change what it
reads: the target's parent is neither ``url`` (the path's object), the method
field's first object nor ``performance``. Other settings, ``LOGPIPE_NATIVE=off``
or a build without the module keep the loop alone.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from logpipe.core.event import Event
from logpipe.core.native import native_module
from logpipe.filters.perfclass.loop import GENERAL, IN_DATA, IN_META, Loop

if TYPE_CHECKING:
    from logpipe.filters.perfclass.filter import PerfClassFilter

_PERF = "performance"
_URL = "url"


class NativeBatch(Protocol):
    """``logpipe_native.PerfBatch``, as the filter calls it."""

    def run(self, events: list[Event], start: int, memo: dict[str, Any], share: bool,
            remember: Callable[[str], Any], remember_method: Callable[[str, str | None, Any], Any],
            verdicts: int, methods: int) -> int: ...

    def reads_slots(self) -> bool: ...


def native_batch(f: PerfClassFilter) -> NativeBatch | None:
    """The native call for this filter's settings, or None when the loop keeps every event."""
    native = native_module()
    if native is None or not hasattr(native, "PerfBatch"):
        return None
    target = f._target_keys
    url_key = f._url_key
    method_keys = f._method_keys
    if target is None or url_key is None:
        return None
    if target[0] in (_URL, _PERF) or (method_keys is not None and target[0] == method_keys[0]):
        return None
    sources = [(0 if kind == IN_META else 1 if kind == IN_DATA else 2, str(outer), str(inner), factor)
               for kind, outer, inner, _read, factor, _unit in f._readers]
    assert all(kind in (IN_META, IN_DATA, GENERAL) for kind, *_ in f._readers)
    # The route table's tests: texts to contain or end with, or a regex (Python's to search).
    routes = [(regex is not None, list(contains), list(ends), None if methods is None else sorted(methods))
              for regex, contains, ends, methods in f._routes._compiled]
    batch: NativeBatch = native.PerfBatch(Event, sources, target, url_key, method_keys, f._outcomes,
                                          bool(f._tag_breach), routes)
    return batch


def run(f: PerfClassFilter, batch: NativeBatch, loop: Loop, events: list[Event], verdicts: int,
        methods: int) -> list[Event]:
    """The batch through the native call, each event it stops at through the loop
    (``verdicts``, ``methods``: the memo's bounds, as the filter's code has them now).

    Where the call keeps stopping at once (events of another class, say), the loop
    takes longer runs, so such a batch costs about what the loop alone costs."""
    memo = f._memo
    share = f.share_memo
    remember = f._remember
    remember_method = f._remember_method
    n = len(events)
    start = 0
    run_length = 1
    while start < n:
        stop = batch.run(events, start, memo, share, remember, remember_method, verdicts, methods)
        if stop >= n:
            break
        run_length = run_length * 2 if stop == start else 1
        end = min(n, stop + run_length)
        loop(f, events[stop:end])
        start = end
    return events
