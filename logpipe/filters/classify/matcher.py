"""Many regular expressions, one pass: which kinds of them match a text.

Signature lists hold dozens of case-insensitive alternatives; Python's ``re``
tries every alternative at every position, which costs tens of microseconds
per URL. :class:`~logpipe.filters.patternset.PatternSet` runs them all in one
native pass (Hyperscan, else RE2's set matcher), a fraction of a microsecond
to two microseconds per URL; a pattern neither can take is confirmed alone.
"""
from __future__ import annotations

from typing import Callable, Iterable

from logpipe.filters.patternset import PatternSet

Entry = tuple[str, str, bool]  # (kind, pattern, ignore case)


class MultiMatcher:
    """The kinds whose patterns match a text."""

    def __init__(self, entries: Iterable[Entry], engine: str | None = None, *,
                 many: bool = False) -> None:
        """``many``: also ready :meth:`match_many` for one scan over many texts (a second
        Hyperscan database; see :meth:`PatternSet.match_many`)."""
        entries = list(entries)
        self.kinds = sorted({kind for kind, _, _ in entries})
        self._kind_of = [kind for kind, _, _ in entries]
        self._set = PatternSet([(pattern, ignore_case) for _, pattern, ignore_case in entries],
                               engine=engine, ends=many)
        self._match = self._set.match
        self.engine = self._set.engine
        #: Whether :meth:`match_joined` can take texts joined by the caller.
        self.joinable = self._set.joinable

    def match(self, text: str) -> set[str]:
        hits = self._match(text)
        if not hits:
            return set()
        kind_of = self._kind_of
        return {kind_of[i] for i in hits}

    def match_many(self, texts: list[str]) -> dict[int, set[str]]:
        """``{i: self.match(texts[i])}`` for the texts where some kind matched, in one
        scan where the engine allows it."""
        kind_of = self._kind_of
        return {i: {kind_of[h] for h in hits} for i, hits in self._set.match_many(texts).items()}

    def match_joined(self, joined: bytes, after: list[int], taken: list[int],
                     unit: Callable[[int], str]) -> dict[int, set[str]]:
        """:meth:`match_many` over units the caller joined already (see
        :meth:`PatternSet.match_joined`)."""
        kind_of = self._kind_of
        return {i: {kind_of[h] for h in hits}
                for i, hits in self._set.match_joined(joined, after, taken, unit).items()}
