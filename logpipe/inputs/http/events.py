"""Decoded documents to events, with the request's details in ``[@metadata][http]``."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from logpipe.core.codec import UTF8_FAILURE_TAG
from logpipe.core.event import Event, now
from logpipe.core.timestamps import parse_iso

TIMESTAMP_FAILURE_TAG = "_timestampparsefailure"
_NOTHING = object()


def request_events(docs: list[Any], request_meta: dict[str, Any]) -> list[Event]:
    """One event per document (a dict) or line (bytes); each owns its metadata dicts."""
    headers = request_meta.get("headers")
    received = now()  # one arrival time for the request's events that carry none
    events: list[Event] = []
    append = events.append
    last_text: Any = _NOTHING
    last_parsed: datetime | None = received
    for doc in docs:
        http = request_meta.copy()
        if headers is not None:
            http["headers"] = headers.copy()
        if type(doc) is dict:
            meta = doc.pop("@metadata", None)
            if type(meta) is not dict:
                meta = {}
            meta["http"] = http
            meta["input"] = {"type": "http"}
            bad_ts = False
            if "@timestamp" in doc:
                ts = doc["@timestamp"]
                if ts == last_text:  # events of a burst often share their timestamp
                    parsed = last_parsed
                else:
                    parsed = parse_iso(ts) if type(ts) is str else None
                    if parsed is not None:
                        last_text, last_parsed = ts, parsed
                if parsed is None:
                    doc["@timestamp"] = received
                    doc["_timestamp_original"] = ts
                    bad_ts = True
                else:
                    doc["@timestamp"] = parsed
            else:
                doc["@timestamp"] = received
            event = Event(doc, meta)
            if bad_ts:
                event.add_tag(TIMESTAMP_FAILURE_TAG)
        else:
            try:
                event = Event({"message": doc.decode("utf-8"), "@timestamp": received},
                              {"http": http, "input": {"type": "http"}})
            except UnicodeDecodeError:
                event = Event({"message": doc.decode("utf-8", "replace"), "@timestamp": received},
                              {"http": http, "input": {"type": "http"}})
                event.add_tag(UTF8_FAILURE_TAG)
        append(event)
    return events
