"""Error classes and outcomes from status codes, log levels and exceptions.

Precedence, most specific first:

1. status 408 or 504: ``timeout``; status 422: ``validation``;
2. an exception named in the error fields (checked in order: ``error.type``,
   then ``error.message``, then ``error.stack_trace``; within one text
   timeout beats dependency beats validation): ``timeout``, ``dependency`` or
   ``validation``;
3. any other 4xx: ``client_error``; 5xx: ``server_error``.

An event is a failure when its status is 400 or more, its level is error or
worse, or (without a status) it names an exception; it is a success when its
status is below 400 and nothing says otherwise; else its outcome is unknown.
Only failures get a class.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable

from logpipe.filters.classify.matcher import MultiMatcher
from logpipe.filters.classify.signatures import Lists, entries

TIMEOUT, DEPENDENCY, VALIDATION = "timeout", "dependency", "validation"
CLIENT_ERROR, SERVER_ERROR = "client_error", "server_error"
SUCCESS, FAILURE, UNKNOWN = "success", "failure", "unknown"

FAILURE_LEVELS = frozenset({"error", "err", "critical", "crit", "fatal", "alert",
                            "emergency", "emerg", "panic", "severe"})
_STATUS_CLASS = {408: TIMEOUT, 504: TIMEOUT, 422: VALIDATION}
_PRIORITY = (TIMEOUT, DEPENDENCY, VALIDATION)
_MAX_TEXT = 16384


def status_code(value: Any) -> int | None:
    """An HTTP status from an int or digit string (grok captures are text)."""
    if type(value) is int:
        return value
    if type(value) is str and len(value) == 3 and value.isdigit():
        return int(value)
    return None


class ExceptionClassifier:
    """Finds the class named by exception text; results cached by text."""

    def __init__(self, lists: Lists, cache_size: int) -> None:
        self._matcher = MultiMatcher(entries(lists, ("error_timeout", "error_dependency",
                                                     "error_validation")))
        self.of_text: Callable[[str], str | None] = (
            lru_cache(maxsize=cache_size)(self._of_text) if cache_size > 0 else self._of_text)

    def _of_text(self, text: str) -> str | None:
        found = self._matcher.match(text[:_MAX_TEXT])
        for cls in _PRIORITY:
            if f"error_{cls}" in found:
                return cls
        return None

    def of_values(self, values: list[Any]) -> str | None:
        for value in values:
            if type(value) is str and value:
                cls = self.of_text(value)
                if cls is not None:
                    return cls
        return None


def classify(status: int | None, level: Any, exception_class: str | None,
             has_exception: bool) -> tuple[str, str | None]:
    """(outcome, error class or None)."""
    failed = False
    if status is not None and status >= 400:
        failed = True
    if type(level) is str and level.lower() in FAILURE_LEVELS:
        failed = True
    if status is None and has_exception:
        failed = True
    if not failed:
        return (SUCCESS if status is not None and 100 <= status < 400 else UNKNOWN), None
    cls = _STATUS_CLASS.get(status) if status is not None else None
    if cls is None:
        cls = exception_class
    if cls is None and status is not None:
        cls = CLIENT_ERROR if status < 500 else SERVER_ERROR
    return FAILURE, cls
