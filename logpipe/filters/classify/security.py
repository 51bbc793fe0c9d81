"""Attack signatures in request text, scanner user agents, and failed logins.

Text is searched raw and URL-decoded (once, and again when the decoded text
still holds escapes, which catches double encoding), so ``%27%20OR%201%3D1``
and ``%2527`` are seen as the quotes they are. Results are cached by text: in
access logs the same URLs and user agents come back again and again.
"""
from __future__ import annotations

import fnmatch
import re
from functools import lru_cache
from typing import Any, Callable
from urllib.parse import unquote_plus

from logpipe.filters.classify.matcher import MultiMatcher
from logpipe.filters.classify.signatures import Lists, entries

SQLI, XSS, PATH_TRAVERSAL, SCANNER = "sqli", "xss", "path_traversal", "scanner"
LOGIN_FAILURE, BRUTE_FORCE = "login_failure", "brute_force"
ATTACKS = (SQLI, XSS, PATH_TRAVERSAL)
NOTHING: frozenset[str] = frozenset()
_LOGIN_ONLY = frozenset({LOGIN_FAILURE})


def decoded_forms(text: str) -> str:
    """The text, then its URL-decoded forms, one per line (only when they differ)."""
    if "%" not in text and "+" not in text:
        return text
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
        self._text = MultiMatcher(entries(lists, ATTACKS + (LOGIN_FAILURE,)))
        self._agents = MultiMatcher(entries(lists, (SCANNER,)))
        self._max = max_length
        self.engine = self._text.engine
        self.kinds: Callable[[str], frozenset[str]] = _cached(self._kinds, cache_size)
        self.is_scanner: Callable[[str], bool] = _cached(self._is_scanner, cache_size)

    def _kinds(self, text: str) -> frozenset[str]:
        """Attack kinds and ``login_failure`` found in the text or its decoded forms."""
        found = self._text.match(decoded_forms(text[:self._max]))
        return frozenset(found) if found else NOTHING

    def attacks(self, text: str) -> frozenset[str]:
        return self.kinds(text) - _LOGIN_ONLY

    def login_failure_message(self, message: str) -> bool:
        return LOGIN_FAILURE in self.kinds(message)

    def _is_scanner(self, user_agent: str) -> bool:
        return bool(self._agents.match(user_agent[:self._max]))


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
