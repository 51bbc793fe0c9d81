"""Many regular expressions, one pass: which of them match a text.

Signature lists hold dozens of case-insensitive alternatives; Python's ``re``
tries every alternative at every position, which costs tens of microseconds
per URL. RE2's set matcher (``google-re2``) runs them all as one automaton in
a single linear pass, one to two microseconds per URL. When RE2 cannot take
a pattern (look-arounds, for instance), that list falls back to ``re``.
"""
from __future__ import annotations

import re
from typing import Any, Iterable

try:
    import re2
except ImportError:  # pragma: no cover - google-re2 is a dependency
    re2 = None

Entry = tuple[str, str, bool]  # (kind, pattern, ignore case)


def _encode(text: str) -> bytes:
    # Lone surrogates (from undecodable input) cannot go to RE2 as text.
    return text.encode("utf-8", "replace")


class MultiMatcher:
    """The kinds whose patterns match a text."""

    def __init__(self, entries: Iterable[Entry]) -> None:
        entries = list(entries)
        self.kinds = sorted({kind for kind, _, _ in entries})
        self._set: Any = None
        self._set_kinds: list[str] = []
        self._fallback: list[tuple[str, re.Pattern[str]]] = []
        rejected: dict[str, list[Entry]] = {}
        if re2 is not None and entries:
            rset = re2.Set.SearchSet(re2.Options())
            for kind, pattern, ignore_case in entries:
                try:
                    rset.Add(("(?im)" if ignore_case else "(?m)") + pattern)
                except Exception:  # noqa: BLE001 - RE2 reports syntax it lacks as plain errors
                    rejected.setdefault(kind, []).append((kind, pattern, ignore_case))
                    continue
                self._set_kinds.append(kind)
            if self._set_kinds:
                rset.Compile()
                self._set = rset
        else:
            for entry in entries:
                rejected.setdefault(entry[0], []).append(entry)
        for kind, items in rejected.items():
            flags = re.MULTILINE | (re.IGNORECASE if items[0][2] else 0)
            self._fallback.append((kind, re.compile("|".join(f"(?:{p})" for _, p, _ in items), flags)))
        self.engine = "re2" if self._set is not None and not self._fallback else (
            "re" if self._set is None else "re2+re")

    def match(self, text: str) -> set[str]:
        found: set[str] = set()
        if self._set is not None:
            try:
                hits = self._set.Match(text)
            except UnicodeEncodeError:
                hits = self._set.Match(_encode(text))
            if hits:
                kinds = self._set_kinds
                found.update(kinds[i] for i in hits)
        for kind, regex in self._fallback:
            if kind not in found and regex.search(text):
                found.add(kind)
        return found
