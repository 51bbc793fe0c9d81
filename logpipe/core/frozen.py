"""The objects a pipeline's filters vouch will never change again.

When the sharing analysis (:mod:`logpipe.core.sharing`) finds that nothing after
an enrichment filter changes the objects it puts into events, the filter gives
the one remembered object to every event with the same input. Such an object is
then in many events at once and never changes; whoever looks at every event's
contents (the scrub filter's check) can look at it once, remember the answer and
skip it wherever it comes back.

The filters tell this registry, once per object, when they make it (not per
event), and only while their ``share_memo`` is on: only objects that nothing
later changes are ever listed. Readers take what was listed since they last
looked (:meth:`FrozenObjects.since`), each with its own cursor, so several can
follow the same registry.

The list is bounded: when it is full, its older half is dropped. A reader that
falls that far behind misses those objects, which costs it speed only (it
treats them as it treats any object an event owns). What is listed is held
alive until dropped; an object stays unchanged for as long as events or the
filter's memo hold it, and after that nothing can change it either.
"""
from __future__ import annotations

import threading

#: How many objects are listed at most.
DEFAULT_LIMIT = 32_768


class FrozenObjects:
    """A pipeline's list of objects that are shared between events and never change."""

    __slots__ = ("_dropped", "_limit", "_lock", "_objects")

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self._limit = max(2, limit)
        self._objects: list[object] = []
        #: How many were dropped from the front: the cursor of ``_objects[0]``.
        self._dropped = 0
        # Filters may run in another thread than the reader (the pipeline's filter thread).
        self._lock = threading.Lock()

    def vouch(self, obj: object) -> None:
        """List ``obj``: neither its maker nor anything after it will change it, at any
        depth, from now on."""
        with self._lock:
            objects = self._objects
            if len(objects) >= self._limit:
                half = len(objects) // 2
                del objects[:half]
                self._dropped += half
            objects.append(obj)

    def since(self, cursor: int) -> tuple[list[object], int]:
        """What was listed after ``cursor`` (0 at first) that is still listed, and the
        cursor to pass next time."""
        with self._lock:
            end = self._dropped + len(self._objects)
            if cursor >= end:
                return [], end
            return self._objects[max(0, cursor - self._dropped):], end

    def __len__(self) -> int:
        return len(self._objects)
