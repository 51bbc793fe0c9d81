"""Deterministic document ids, so that redelivering a batch cannot duplicate it.

An input redelivers after a crash or a failed batch; if the same event gets
the same ``_id`` both times, ``create`` answers 409 the second time (already
written) and ``index`` overwrites it with identical content.

- ``coordinates``: ``topic:partition:offset`` from ``[@metadata][kafka]`` (the
  kafka input's coordinates); events without them (Beats, HTTP, Redis) fall
  back to content_hash. Kafka topic names cannot contain ``:``, so the id
  is unambiguous. When one record produced several events (a split, an NDJSON
  value) they share coordinates; the second and later get ``:1``, ``:2``...
  in batch order, which is the same order on every delivery.
- ``content_hash``: 20-byte BLAKE2b of the serialized document, base64url
  (27 characters). Two identical documents become one, which for log events
  (same timestamp, same text, same source) is the right answer.
- ``document_id`` template: rendered per event; when a referenced field is
  missing the event falls back to content_hash, because a literal ``%{...}``
  id would make unrelated events overwrite each other.

An id is unique within one index only. When the index is chosen per event
(``index: "...%{[@metadata][category]}"``) and the choice depends on state a
filter keeps (the classify filter's brute-force window, per worker and per
processing time), a redelivered event can be routed to another index than
the first time and is then stored twice under the same id.
"""
from __future__ import annotations

import base64
import hashlib
from typing import Callable

from logpipe.core.event import Event
from logpipe.core.sprintf import compile_template

#: Gives one event's id from the event and its serialized document.
IdFunction = Callable[[Event, bytes], "str | None"]
#: Makes a fresh IdFunction for each batch (coordinates keep per-batch state).
IdFactory = Callable[[], IdFunction]


def content_hash(doc: bytes) -> str:
    digest = hashlib.blake2b(doc, digest_size=20).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def kafka_coordinates(event: Event) -> str | None:
    meta = event.metadata.get("kafka")
    if not isinstance(meta, dict):
        return None
    topic = meta.get("topic")
    partition = meta.get("partition")
    offset = meta.get("offset")
    if topic is None or partition is None or offset is None:
        return None
    return f"{topic}:{partition}:{offset}"


def _coordinates() -> IdFunction:
    seen: dict[str, int] = {}

    def assign(event: Event, doc: bytes) -> str | None:
        coord = kafka_coordinates(event)
        if coord is None:
            return content_hash(doc)
        n = seen.get(coord, 0)
        seen[coord] = n + 1
        return coord if n == 0 else f"{coord}:{n}"

    return assign


def _no_id(event: Event, doc: bytes) -> str | None:
    return None


def _hash_id(event: Event, doc: bytes) -> str | None:
    return content_hash(doc)


def _template(template: str) -> IdFunction:
    render = compile_template(template)

    def assign(event: Event, doc: bytes) -> str | None:
        value = render(event)
        return content_hash(doc) if (not value or "%{" in value) else value

    return assign


def id_factory(strategy: str, document_id: str | None = None) -> IdFactory:
    """The id maker for an output's settings (``document_id`` wins over the strategy)."""
    if document_id:
        fn = _template(document_id)
        return lambda: fn
    if strategy == "none":
        return lambda: _no_id
    if strategy == "content_hash":
        return lambda: _hash_id
    if strategy == "coordinates":
        return _coordinates
    raise ValueError(f"unknown id strategy {strategy!r}")


def deterministic(strategy: str, document_id: str | None = None) -> bool:
    """Whether redelivery produces the same ids (so a 409 on create means: already written)."""
    return bool(document_id) or strategy != "none"
