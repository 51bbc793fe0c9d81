"""A dead-letter record: the event as it was written, plus why and where it failed.

The record is one JSON object, so the spill file, the Kafka value and what
``logpipe dlq inspect --json`` prints are the same bytes. Key and headers are
derived from it, so a spilled line is enough to rebuild the Kafka record.

    {"time": "...", "event": {...}, "error": {"type", "reason", "status"},
     "index": "...", "document_id": "...", "action": "create",
     "ingest_pipeline": null, "pipeline": "graphmemory",
     "plugin_id": "es-access", "plugin_type": "elasticsearch", "attempts": 1}
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import orjson

from logpipe.core.codec import dumps

HEADER_REASON = "reason_type"
HEADER_INDEX = "index"
HEADER_PLUGIN = "plugin_id"


@dataclass(frozen=True, slots=True)
class DeadLetterRecord:
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]

    @classmethod
    def from_value(cls, value: bytes) -> DeadLetterRecord:
        """Rebuild key and headers from a record's JSON (a spilled line)."""
        data = orjson.loads(value)
        return cls(_key(data), value, _headers(data))

    def data(self) -> dict[str, Any]:
        return orjson.loads(self.value)


def _key(data: dict[str, Any]) -> bytes | None:
    doc_id = data.get("document_id")
    return str(doc_id).encode() if doc_id else None


def _headers(data: dict[str, Any]) -> tuple[tuple[str, bytes], ...]:
    error = data.get("error") or {}
    return ((HEADER_REASON, str(error.get("type", "unknown")).encode()),
            (HEADER_INDEX, str(data.get("index", "")).encode()),
            (HEADER_PLUGIN, str(data.get("plugin_id", "")).encode()))


def build_record(*, event: bytes | dict[str, Any], error_type: str, reason: str, status: int | None,
                 index: str | None, document_id: str | None, pipeline: str, plugin_id: str,
                 plugin_type: str = "elasticsearch", action: str | None = None,
                 ingest_pipeline: str | None = None, attempts: int = 1,
                 time: datetime | None = None) -> DeadLetterRecord:
    """One record; ``event`` may be the already-serialized document (kept byte for byte)."""
    data: dict[str, Any] = {
        "time": (time or datetime.now(timezone.utc)),
        "event": orjson.Fragment(event) if isinstance(event, bytes) else event,
        "error": {"type": error_type, "reason": reason, "status": status},
        "index": index,
        "document_id": document_id,
        "action": action,
        "ingest_pipeline": ingest_pipeline,
        "pipeline": pipeline,
        "plugin_id": plugin_id,
        "plugin_type": plugin_type,
        "attempts": attempts,
    }
    value = safe_dumps(data)
    return DeadLetterRecord(_key(data), value, _headers(data))


_INT64 = (-(2 ** 63), 2 ** 64 - 1)


def _plain(value: Any) -> Any:
    """A copy orjson can write: integers beyond 64 bits become their decimal text."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if _INT64[0] <= value <= _INT64[1] else str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    return value


def safe_dumps(data: dict[str, Any]) -> bytes:
    """JSON of a record whatever its event holds: a dead letter must be writable even
    when the event is the one no codec could serialize (a 20-digit integer)."""
    try:
        return dumps(data)
    except TypeError:
        return dumps(_plain(data))


def error_type_of(reason: str) -> str:
    """``mapper_parsing_exception: ...`` -> ``mapper_parsing_exception``; else ``rejected``."""
    head, sep, _ = reason.partition(":")
    head = head.strip()
    if sep and head and head.replace("_", "").replace(".", "").isalnum() and " " not in head:
        return head
    return "rejected"


def fit(record: DeadLetterRecord, limit: int) -> DeadLetterRecord:
    """A record no larger than ``limit`` bytes.

    Kafka refuses records above the topic's ``max.message.bytes`` (1 MB by
    default) forever; rather than a record that can never leave the spill
    file, an oversize event is replaced by its beginning, flagged, with its
    original size.
    """
    if len(record.value) <= limit:
        return record
    data = record.data()
    original = orjson.dumps(data.get("event"))
    keep = max(0, limit // 2)
    data["event"] = None
    data["event_truncated"] = {
        "original_bytes": len(original),
        "head": original[:keep].decode("utf-8", "ignore"),
    }
    value = dumps(data)
    return DeadLetterRecord(record.key, value, record.headers)
