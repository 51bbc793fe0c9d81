"""A bounded memo kept in two generations, for filters whose answer depends on a
value alone (a date's text, a fixed substitution's input).

New answers go to the newer generation; when it is full it becomes the older one
and the one before is dropped. A value that keeps coming back is found in the
older generation and carried into the newer one, so a full memo never forgets
every frequent value at once (emptying one dict when full did), and at most twice
``size`` answers are held.

Hot loops look in ``newer`` themselves (one ``dict.get``, no call); only a miss
there calls :meth:`Generations.recall`.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar, cast

K = TypeVar("K")
V = TypeVar("V")

_MISS = object()


class Generations(Generic[K, V]):
    __slots__ = ("newer", "older", "size")

    def __init__(self, size: int) -> None:
        #: Answers per generation.
        self.size = size
        self.newer: dict[K, V] = {}
        self.older: dict[K, V] = {}

    def recall(self, key: K, make: Callable[[K], V]) -> V:
        """The answer for a key ``newer`` does not hold: the older generation's, or
        ``make(key)``; remembered in the newer generation either way."""
        found = self.older.get(key, _MISS)
        value = make(key) if found is _MISS else cast(V, found)
        newer = self.newer
        if len(newer) >= self.size:
            self.older = newer
            newer = self.newer = {}
        newer[key] = value
        return value

    def __len__(self) -> int:
        return len(self.newer) + len(self.older)

    def __contains__(self, key: object) -> bool:
        return key in self.newer or key in self.older
