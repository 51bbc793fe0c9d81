"""Find the route a request belongs to, from its path and method."""
from __future__ import annotations

import fnmatch
import re

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


def _literal(text: str) -> tuple[bool, str] | None:
    """A glob that is text with at most a trailing ``*``, as what its regex tests.

    The glob's regex (``fnmatch.translate``: ``(?s:TEXT.*)\\Z``, or ``(?s:TEXT)\\Z``) is
    searched in the path, so it matches exactly when the path contains TEXT (trailing
    ``*``) or ends with it (none): (True, TEXT) or (False, TEXT). None for anything else
    (a ``/regex/``, other wildcards), which keeps its regex.
    """
    if len(text) >= 3 and text[0] == "/" and text[-1] == "/":
        return None
    contains = text.endswith("*")
    body = text[:-1] if contains else text
    if any(c in body for c in "*?["):
        return None
    return contains, body


class RouteTable:
    """Routes in order. Lookups are not cached here: the filter remembers the whole
    verdict of a path and method (see PerfClassFilter._decide)."""

    def __init__(self, routes: list[Route]) -> None:
        self.routes = routes
        #: Per route: its regex (None when every pattern is a literal test), the texts
        #: a path must contain or end with (one is enough), its methods.
        compiled: list[tuple[re.Pattern[str] | None, tuple[str, ...], tuple[str, ...],
                             frozenset[str] | None]] = []
        for route in routes:
            methods = frozenset(m.upper() for m in route.method) if route.method else None
            literals = [_literal(p) for p in route.match]
            if route.match and all(lit is not None for lit in literals):
                # Substring tests: what the patterns' regexes answer, for a fraction of
                # the cost (a decision is made for every new path: ids make many).
                contains = tuple(lit[1] for lit in literals if lit is not None and lit[0])
                ends = tuple(lit[1] for lit in literals if lit is not None and not lit[0])
                compiled.append((None, contains, ends, methods))
                continue
            # One alternation per route: a single regex call per route and path.
            joined = "|".join(f"(?:{_pattern(p).pattern})" for p in route.match)
            compiled.append((re.compile(joined), (), (), methods))
        self._compiled = compiled

    def match(self, path: str, method: str | None) -> Route | None:
        """The first route covering the request."""
        index = self.index(path, method)
        return None if index < 0 else self.routes[index]

    def path_index(self, path: str) -> int | None:
        """What :meth:`index` answers for ``path`` whatever the method, when the method
        cannot change it (no route with methods covers the path before the first route
        without methods that does), else None: the caller then need not read the method."""
        for index, (regex, contains, ends, methods) in enumerate(self._compiled):
            if regex is None:
                covered = any(text in path for text in contains) or bool(ends and path.endswith(ends))
            else:
                covered = regex.search(path) is not None
            if covered:
                return index if methods is None else None
        return -1

    def index(self, path: str, method: str | None) -> int:
        """The position of the first route covering the request, or -1."""
        upper = method.upper() if method else None
        for index, (regex, contains, ends, methods) in enumerate(self._compiled):
            if methods is not None and upper not in methods:
                continue
            if regex is None:
                for text in contains:
                    if text in path:
                        return index
                if ends and path.endswith(ends):
                    return index
            elif regex.search(path):
                return index
        return -1
