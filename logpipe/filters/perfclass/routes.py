"""Find the route a request belongs to, from its path and method."""
from __future__ import annotations

import fnmatch
import re
from functools import lru_cache
from typing import Callable

from logpipe.errors import ConfigError
from logpipe.filters.perfclass.config import Route


def _pattern(text: str) -> re.Pattern[str]:
    """A ``/regex/`` is searched in the path; anything else is a whole-path glob."""
    if len(text) >= 3 and text[0] == "/" and text[-1] == "/":
        try:
            return re.compile(text[1:-1])
        except re.error as exc:
            raise ConfigError(f"perfclass: bad route regex {text!r}: {exc}", path="routes") from exc
    return re.compile(fnmatch.translate(text))


class RouteTable:
    """Routes in order; lookups are cached because paths repeat."""

    def __init__(self, routes: list[Route], cache_size: int = 4096) -> None:
        self.routes = routes
        compiled: list[tuple[re.Pattern[str], frozenset[str] | None]] = []
        for route in routes:
            # One alternation per route: a single regex call per route and path.
            joined = "|".join(f"(?:{_pattern(p).pattern})" for p in route.match)
            methods = frozenset(m.upper() for m in route.method) if route.method else None
            compiled.append((re.compile(joined), methods))
        self._compiled = compiled
        self.find: Callable[[str, str | None], Route | None] = lru_cache(maxsize=cache_size)(self.match)

    def match(self, path: str, method: str | None) -> Route | None:
        """The first route covering the request, with no cache (``find`` has one)."""
        upper = method.upper() if method else None
        for route, (regex, methods) in zip(self.routes, self._compiled):
            if methods is not None and upper not in methods:
                continue
            if regex.search(path):
                return route
        return None
