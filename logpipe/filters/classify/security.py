"""Attack signatures in request text, scanner user agents, and failed logins.

Text is searched raw and URL-decoded (once, and again when the decoded text
still holds escapes, which catches double encoding), so ``%27%20OR%201%3D1``
and ``%2527`` are seen as the quotes they are. Results are cached by text: in
access logs the same URLs and user agents come back again and again.

The filter asks for a whole batch at once (:meth:`SignatureScanner.found_in`):
the texts not in the cache (in access logs, mostly the messages, one of a kind
per line) go to the matcher in one scan instead of one call each.
"""
from __future__ import annotations

import fnmatch
import re
from functools import lru_cache
from typing import Any, Callable
from urllib.parse import unquote_plus

from logpipe.core.native import native_module
from logpipe.filters.classify.matcher import MultiMatcher
from logpipe.filters.classify.signatures import Lists, entries

SQLI, XSS, PATH_TRAVERSAL, SCANNER = "sqli", "xss", "path_traversal", "scanner"
LOGIN_FAILURE, BRUTE_FORCE = "login_failure", "brute_force"
ATTACKS = (SQLI, XSS, PATH_TRAVERSAL)
NOTHING: frozenset[str] = frozenset()
_LOGIN_ONLY = frozenset({LOGIN_FAILURE})


def decoded_forms(text: str) -> str:
    """The text, then its URL-decoded forms, one per line (only when they differ)."""
    if "%" not in text:
        if "+" not in text:
            return text
        # Without escapes, unquoting only turns each "+" into a space (and once
        # decoded, there is nothing left to decode).
        return f"{text}\n{text.replace('+', ' ')}"
    once = unquote_plus(text, errors="replace")
    if once == text:
        return text
    if "%" in once:
        twice = unquote_plus(once, errors="replace")
        if twice != once:
            return f"{text}\n{once}\n{twice}"
    return f"{text}\n{once}"


class SignatureScanner:
    """Attack signatures and failed-login phrases in text, scanner names in agents."""

    def __init__(self, lists: Lists, *, max_length: int, cache_size: int) -> None:
        self._text = MultiMatcher(entries(lists, ATTACKS + (LOGIN_FAILURE,)), many=True)
        # Failed-login phrases alone, for messages that are not scanned for attacks
        # anyway: the same patterns on the same text give the same answer.
        self._login = MultiMatcher(entries(lists, (LOGIN_FAILURE,)))
        self._agents = MultiMatcher(entries(lists, (SCANNER,)))
        self._max = max_length
        self.engine = self._text.engine
        #: logpipe_native.join_units, when the text set can scan joined texts.
        native = native_module()
        self._join_units: Callable[..., tuple[bytes, list[int], list[int], list[int]]] | None = (
            native.join_units if native is not None and self._text.joinable else None)
        #: Text -> kinds, in two generations: new texts go to the young one; when it
        #: holds half of ``cache_size`` it becomes the old one and the old is dropped.
        #: (Cheaper than least-recently-used order, and as good for repeating URLs.)
        self._young: dict[str, frozenset[str]] = {}
        self._old: dict[str, frozenset[str]] = {}
        #: The texts of each generation where something was found (few).
        self._young_hits: dict[str, frozenset[str]] = {}
        self._old_hits: dict[str, frozenset[str]] = {}
        self._generation = max(cache_size // 2, 1) if cache_size > 0 else 0
        self.is_scanner: Callable[[str], bool] = _cached(self._is_scanner, cache_size)

    def kinds(self, text: str) -> frozenset[str]:
        """Attack kinds and ``login_failure`` found in the text or its decoded forms."""
        found = self._cached(text)
        if found is None:
            found = self._kinds(text)
            self._remember(text, found)
        return found

    def found_in(self, texts: set[str], *, cache: bool = True) -> dict[str, frozenset[str]]:
        """The texts (distinct) where something is found, with their :meth:`kinds`; every
        other text's kinds are :data:`NOTHING`. The texts not in the cache are scanned
        in one matcher call (all of them without ``cache``, which neither reads nor
        fills the cache: for texts that seldom come back)."""
        young, old = self._young, self._old
        unknown = ([text for text in texts if text not in young and text not in old] if cache
                   else list(texts))
        hits: dict[str, frozenset[str]] = {}
        if len(unknown) != len(texts):  # some were known: those with a finding
            for found_before in (self._young_hits, self._old_hits):
                if found_before:
                    for text in found_before.keys() & texts:
                        hits[text] = found_before[text]
        if unknown:
            matched = self._match_units(unknown)
            fresh_hits: dict[str, frozenset[str]] = {}
            for i, kinds in matched.items():
                text = unknown[i]
                fresh_hits[text] = hits[text] = frozenset(kinds)
            if cache:
                fresh = dict.fromkeys(unknown, NOTHING)
                fresh.update(fresh_hits)
                self._remember_all(fresh, fresh_hits)
        return hits

    def _match_units(self, texts: list[str]) -> dict[int, set[str]]:
        """The kinds found in each text's :func:`decoded_forms` (of its first
        ``max_length`` characters), for the texts where some were found."""
        limit = self._max
        join = self._join_units
        if join is not None and len(texts) > 1:
            # The units made and joined natively; the few texts it leaves aside
            # (not ASCII, or with escapes to decode) are scanned one by one.
            joined, after, taken, aside = join(texts, limit)
            matched = self._text.match_joined(joined, after, taken, lambda i: _unit(texts[i][:limit]))
            for i in aside:
                found = self._text.match(decoded_forms(texts[i][:limit]))
                if found:
                    matched[i] = found
            return matched
        cut = texts if max(map(len, texts)) <= limit else [text[:limit] for text in texts]
        return self._text.match_many(list(map(_unit, cut)))

    def _kinds(self, text: str) -> frozenset[str]:
        found = self._text.match(decoded_forms(text[:self._max]))
        return frozenset(found) if found else NOTHING

    def _cached(self, text: str) -> frozenset[str] | None:
        found = self._young.get(text)
        return found if found is not None else self._old.get(text)

    def _remember(self, text: str, found: frozenset[str]) -> None:
        self._remember_all({text: found}, {text: found} if found else {})

    def _remember_all(self, fresh: dict[str, frozenset[str]], fresh_hits: dict[str, frozenset[str]]) -> None:
        """Keep ``fresh`` (and which of them had a finding), the young generation
        becoming the old one when it would grow past its size."""
        if not self._generation:
            return
        if len(self._young) + len(fresh) > self._generation:
            self._old, self._old_hits = self._young, self._young_hits
            self._young, self._young_hits = fresh, fresh_hits
        else:
            self._young.update(fresh)
            self._young_hits.update(fresh_hits)

    def attacks(self, text: str) -> frozenset[str]:
        return self.kinds(text) - _LOGIN_ONLY

    def login_failure_message(self, message: str) -> bool:
        """Whether the message reports a failed login: from the cache when the text was
        scanned already, else with the failed-login phrases alone."""
        found = self._cached(message)
        if found is not None:
            return LOGIN_FAILURE in found
        return bool(self._login.match(decoded_forms(message[:self._max])))

    def _is_scanner(self, user_agent: str) -> bool:
        return bool(self._agents.match(user_agent[:self._max]))


def _unit(text: str) -> str:
    """:func:`decoded_forms`, with its two common cases written out (a call per text
    costs as much as the rest of the work on it)."""
    if "%" in text:
        return decoded_forms(text)
    return text if "+" not in text else f"{text}\n{text.replace('+', ' ')}"


def _cached(func: Callable[[str], Any], size: int) -> Any:
    return lru_cache(maxsize=size)(func) if size > 0 else func


class LoginPaths:
    """Login endpoints by glob (``*`` crosses ``/``), matched against the whole path."""

    def __init__(self, globs: list[str]) -> None:
        joined = "|".join(f"(?:{fnmatch.translate(g)})" for g in globs)
        self._regex = re.compile(joined) if globs else None
        self.match: Callable[[str], bool] = lru_cache(maxsize=4096)(self._match)

    def _match(self, path: str) -> bool:
        return self._regex is not None and self._regex.match(path.rstrip("/") or "/") is not None
