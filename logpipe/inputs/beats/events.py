"""Turning a decoded window into pipeline events.

The document a Beat sent becomes the event as it is (agent, host, log.file.path,
input.type, fields, message...), with ``@timestamp`` parsed to a datetime. What
the protocol knows goes to ``@metadata``: the Beat's own ``@metadata`` (beat,
type, version, pipeline) stays at the top as Logstash keeps it, so index
templates like ``%{[@metadata][beat]}-%{[@metadata][version]}`` still work,
and ``[@metadata][beats]`` adds the connection's details. Every event gets its
own metadata dicts: a filter that changes one event's metadata changes no other.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from logpipe.core.codec import JSON_FAILURE_TAG
from logpipe.core.event import Event, now
from logpipe.core.timestamps import parse_iso
from logpipe.inputs.beats.protocol import Window

TIMESTAMP_FAILURE_TAG = "_timestampparsefailure"
_NOTHING = object()

_BEAT_KEYS = (("beat", "beat"), ("type", "beat_type"), ("version", "beat_version"))


def window_events(window: Window, connection_meta: dict[str, Any]) -> list[Event]:
    """Events for every document of ``window``; ``connection_meta`` seeds ``[@metadata][beats]``."""
    received = now()  # one arrival time for the window's events that carry none
    events: list[Event] = []
    append = events.append
    last_text: Any = _NOTHING
    last_parsed: datetime | None = received
    for seq, doc in zip(window.seqs, window.docs):
        beats = connection_meta.copy()
        beats["seq"] = seq
        if type(doc) is dict:
            meta = doc.pop("@metadata", None)
            if type(meta) is dict:
                for src, dst in _BEAT_KEYS:
                    value = meta.get(src)
                    if value is not None:
                        beats[dst] = value
            else:
                meta = {}
            meta["beats"] = beats
            meta["input"] = {"type": "beats"}
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
            event = Event({"message": doc.decode("utf-8", "replace"), "@timestamp": received},
                          {"beats": beats, "input": {"type": "beats"}})
            event.add_tag(JSON_FAILURE_TAG)
        append(event)
    return events
