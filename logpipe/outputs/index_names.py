"""Checks on index names built from event fields, before they reach Elasticsearch.

``index: "logs-%{[service][name]}"`` lets whoever writes the event choose
where it lands. A crafted or broken value could aim at every index (``_all``,
``*``), at several (``a,b``), at hidden and system indices (leading ``.``),
or simply be a name Elasticsearch refuses. Refused names would come back as
per-document 400s anyway; the dangerous ones would not: a leading dot creates
or writes a hidden index. So names are checked here, and an event whose name
fails goes to the dead-letter queue with the reason ``invalid_index_name``
instead of being sent.

The rules are Elasticsearch's own for index names, plus the leading dot
(legal there, refused here) and the expression characters that only make
sense in searches:

- not empty, not ``.`` or ``..``, at most 255 bytes (UTF-8);
- lowercase only;
- no ``\\ / * ? " < > | , #`` ``:`` or whitespace;
- not starting with ``-``, ``_``, ``+`` or ``.``; not ``_all``;
- no ``..`` anywhere (a path-like value).

:func:`index_name_problem` is pure. :func:`screen_chunks` applies it to the
bulk items the Elasticsearch output builds; names already seen are cached, so
a constant or slowly changing index costs one dictionary lookup per document.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Iterator

if TYPE_CHECKING:
    from logpipe.outputs.elasticsearch.request_builder import BulkItem
    from logpipe.outputs.elasticsearch.service import Failed

REASON = "invalid_index_name"
MAX_BYTES = 255
_FORBIDDEN = frozenset('\\/*?"<>|,#: \t\r\n')
_BAD_START = ("-", "_", "+", ".")
_CACHE_LIMIT = 4096


def index_name_problem(name: str) -> str | None:
    """Why ``name`` must not be used as an index name, or None when it is fine."""
    if not name:
        return "index name is empty"
    if name in (".", ".."):
        return f"index name {name!r} is reserved"
    if name == "_all":
        return "index name _all would address every index"
    size = len(name.encode("utf-8"))
    if size > MAX_BYTES:
        return f"index name is {size} bytes long (at most {MAX_BYTES})"
    if name != name.lower():
        return f"index name {name!r} has uppercase letters"
    if name.startswith(_BAD_START):
        return f"index name {name!r} starts with {name[0]!r}"
    bad = sorted({ch for ch in name if ch in _FORBIDDEN or ch.isspace()})
    if bad:
        return f"index name {name!r} contains {''.join(bad)!r}"
    if ".." in name:
        return f"index name {name!r} contains '..'"
    if "%{" in name:
        return f"index name {name!r} has a field reference the event could not fill"
    return None


class IndexNameCheck:
    """Memoized :func:`index_name_problem` for a stream of names."""

    def __init__(self) -> None:
        self._seen: dict[str, str | None] = {}

    def __call__(self, name: str) -> str | None:
        try:
            return self._seen[name]
        except KeyError:
            problem = index_name_problem(name)
            if len(self._seen) >= _CACHE_LIMIT:
                self._seen.clear()
            self._seen[name] = problem
            return problem


def screen_chunks(chunks: Iterable[list[BulkItem]], rejected: list[Failed],
                  check: IndexNameCheck | None = None) -> Iterator[list[BulkItem]]:
    """Pass the bulk requests on without their invalid-index items; those go to ``rejected``.

    Lazy, like the chunks it wraps. Each rejected item becomes a ``Failed`` with
    status 400 and error type ``invalid_index_name``, which the output dead-letters
    like any document Elasticsearch refused.
    """
    from logpipe.outputs.elasticsearch.response import Rejection
    from logpipe.outputs.elasticsearch.service import Failed

    check = check or IndexNameCheck()
    for chunk in chunks:
        good: list[BulkItem] = []
        for item in chunk:
            problem = check(item.index)
            if problem is None:
                good.append(item)
            else:
                rejected.append(Failed(item, Rejection(0, 400, {"type": REASON, "reason": problem}), 0))
        if good:
            yield good
