"""Events to bulk request bodies: action lines, orjson documents, gzip.

Documents are serialized once, here; a retry of some items reuses their bytes.
Requests are cut by document count (``batch_size``) and uncompressed size
(``batch_bytes``); a single document larger than ``batch_bytes`` travels alone.
Building is lazy (``chunks`` is a generator) so the first request can be on
the wire while later ones are still being serialized.
"""
from __future__ import annotations

import gzip
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Sequence

import orjson

from logpipe.core.codec import dumps
from logpipe.core.event import Event
from logpipe.core.sprintf import compile_template, is_template
from logpipe.outputs.elasticsearch.ids import IdFactory

if TYPE_CHECKING:
    from logpipe.outputs.elasticsearch.service import Failed

NDJSON_HEADERS = {"content-type": "application/x-ndjson", "accept": "application/json"}
GZIP_HEADERS = {**NDJSON_HEADERS, "content-encoding": "gzip"}


@dataclass(slots=True)
class BulkItem:
    """One document of a bulk request, remembered by its place in the batch."""

    pos: int
    index: str
    doc_id: str | None
    action: bytes
    doc: bytes
    pipeline: str | None = None

    @property
    def size(self) -> int:
        return len(self.action) + len(self.doc) + 2


def _pipeline_renderer(template: str | None) -> Callable[[Event], str | None] | None:
    """Ingest pipeline per event; empty, or a field that is missing, means none."""
    if not template:
        return None
    if not is_template(template):
        const: str = template
        return lambda _event: const
    render = compile_template(template)

    def pipeline(event: Event) -> str | None:
        value = render(event)
        return value if value and "%{" not in value else None

    return pipeline


class RequestBuilder:
    def __init__(self, *, index: str, action: str, ids: IdFactory, pipeline: str | None = None,
                 batch_size: int = 1000, batch_bytes: int = 10 * 1024 * 1024) -> None:
        self.action = action
        self.ids = ids
        self.batch_size = batch_size
        self.batch_bytes = batch_bytes
        self._index_const = None if is_template(index) else index
        self._index = compile_template(index)
        self._pipeline = _pipeline_renderer(pipeline)
        self._prefixes: dict[str, bytes] = {}

    def _prefix(self, index: str) -> bytes:
        prefix = self._prefixes.get(index)
        if prefix is None:
            prefix = b'{"' + self.action.encode() + b'":{"_index":' + orjson.dumps(index)
            if len(self._prefixes) < 10_000:
                self._prefixes[index] = prefix
        return prefix

    def action_line(self, index: str, doc_id: str | None, pipeline: str | None) -> bytes:
        line = self._prefix(index)
        if doc_id is not None:
            if doc_id.isascii() and doc_id.isprintable() and '"' not in doc_id and "\\" not in doc_id:
                # the usual ids (hashes, topic:partition:offset) need no JSON escaping
                line += b',"_id":"' + doc_id.encode() + b'"'
            else:
                line += b',"_id":' + orjson.dumps(doc_id)
        if pipeline:
            line += b',"pipeline":' + orjson.dumps(pipeline)
        return line + b"}}"

    def items(self, events: Sequence[Event], start: int = 0,
              assign: Callable[[Event, bytes], str | None] | None = None,
              refused: list[Failed] | None = None) -> list[BulkItem]:
        """Serialize events; ``pos`` counts from ``start``. An event that cannot be
        written as JSON (an integer beyond 64 bits) goes to ``refused`` when given,
        so it never fails the events beside it."""
        assign = assign or self.ids()
        const = self._index_const
        render_index = self._index
        render_pipeline = self._pipeline
        out: list[BulkItem] = []
        for n, event in enumerate(events, start):
            index = const if const is not None else render_index(event)
            try:
                doc = dumps(event.data)
            except TypeError as exc:
                if refused is None:
                    raise
                refused.append(_unserializable(n, index, exc))
                continue
            doc_id = assign(event, doc)
            pipeline = render_pipeline(event) if render_pipeline is not None else None
            out.append(BulkItem(n, index, doc_id, self.action_line(index, doc_id, pipeline), doc, pipeline))
        return out

    def chunks(self, events: Sequence[Event],
               refused: list[Failed] | None = None) -> Iterator[list[BulkItem]]:
        """Requests for a batch, built as they are consumed."""
        assign = self.ids()
        step = self.batch_size
        pending: list[BulkItem] = []
        pending_bytes = 0
        for start in range(0, len(events), step):
            for item in self.items(events[start:start + step], start, assign, refused):
                size = item.size
                if pending and (len(pending) >= step or pending_bytes + size > self.batch_bytes):
                    yield pending
                    pending, pending_bytes = [], 0
                pending.append(item)
                pending_bytes += size
        if pending:
            yield pending


def _unserializable(pos: int, index: str, exc: Exception) -> Failed:
    from logpipe.outputs.elasticsearch.response import Rejection
    from logpipe.outputs.elasticsearch.service import Failed

    item = BulkItem(pos, index, None, b"", b"")
    return Failed(item, Rejection(0, 400, {"type": "serialization_error",
                                           "reason": f"the event cannot be written as JSON: {exc}"}), 0)


def body(items: Iterable[BulkItem]) -> bytes:
    """The NDJSON body: action line, document, each newline-terminated."""
    parts: list[bytes] = []
    for item in items:
        parts.append(item.action)
        parts.append(item.doc)
    parts.append(b"")
    return b"\n".join(parts)


def compress(data: bytes, level: int = 1) -> bytes:
    """gzip; level 1 is several times faster than 9 and most of the gain on JSON."""
    return gzip.compress(data, compresslevel=level, mtime=0)
