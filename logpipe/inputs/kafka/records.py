"""Kafka records into events, one partition's fetch at a time.

Every event carries where it came from in ``[@metadata][kafka]``: topic,
partition, offset, key, timestamp (milliseconds since the epoch, as Kafka
stores it) and headers. The Elasticsearch output builds deterministic
document ids from topic/partition/offset, which is what makes redelivery
after a crash idempotent.
"""
from __future__ import annotations

from typing import Any, Sequence

from logpipe.codecs import spec
from logpipe.codecs.messages import BatchDecoder, batch_decoder
from logpipe.core.event import Event


def _text(raw: bytes | None) -> str | None:
    if raw is None:
        return None
    return raw.decode("utf-8", "replace")


def _headers(headers: Sequence[tuple[str, bytes | None]] | None) -> dict[str, str | None]:
    if not headers:
        return {}
    return {name: _text(value) for name, value in headers}


def decoder(codec: str) -> BatchDecoder:
    """The decoder for a codec given by name."""
    return batch_decoder(spec(codec))


def to_events(records: Sequence[Any], decode: BatchDecoder) -> tuple[list[Event], int]:
    """Events for one partition's records, and their total value size in bytes.

    A record without a value (a tombstone) becomes an empty ``message``; with
    the json codec it is also tagged ``_jsonparsefailure``, like any value that
    is not a JSON object. Nothing is dropped. A codec may make several events of
    one record (they share its coordinates). The records are decoded together
    (with the json codec, in one call).
    """
    values: list[bytes] = []
    metas: list[dict[str, Any]] = []
    size = 0
    for r in records:
        value = r.value if r.value is not None else b""
        size += len(value)
        values.append(value)
        metas.append({"kafka": {
            "topic": r.topic,
            "partition": r.partition,
            "offset": r.offset,
            "key": _text(r.key),
            "timestamp": r.timestamp,
            "headers": _headers(r.headers),
        }})
    return decode(values, metas), size
