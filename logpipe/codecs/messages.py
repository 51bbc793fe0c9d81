"""Whole messages (a Kafka record, a Redis item) into events, for inputs that read messages.

``json`` and ``plain`` without options take the fast path they always took (one
event per message, made directly; for ``json``, a whole fetch of messages in
one call, see :func:`batch_decoder`); any other codec decodes each message into
zero or more events, each with its own copy of the message's metadata.
"""
from __future__ import annotations

from typing import Any, Callable

from logpipe.codecs.setting import CodecSpec
from logpipe.core.codec import event_from_json, event_from_line, events_from_json
from logpipe.core.event import Event

#: Message bytes and their @metadata into events.
MessageDecoder = Callable[[bytes, dict[str, Any]], list[Event]]
#: Many messages and the @metadata of each into events, in order.
BatchDecoder = Callable[[list[bytes], list[dict[str, Any]]], list[Event]]


def message_decoder(spec: CodecSpec) -> MessageDecoder:
    if spec.is_plain("json"):
        return lambda raw, meta: [event_from_json(raw, meta)]
    if spec.is_plain("plain", "line"):
        return lambda raw, meta: [event_from_line(raw, meta)]
    codec = spec.build().check("decode")

    def decode(raw: bytes, meta: dict[str, Any]) -> list[Event]:
        events = codec.decode(raw)
        for i, e in enumerate(events):
            e.metadata.update(meta if i == 0 else {k: dict(v) if isinstance(v, dict) else v
                                                     for k, v in meta.items()})
        return events

    return decode


def batch_decoder(spec: CodecSpec) -> BatchDecoder:
    """What :func:`message_decoder` makes of each message, for a list of them at once:
    plain ``json`` decodes the list in one call (:func:`events_from_json`, natively
    with the native module), the messages without ``@timestamp`` sharing one
    arrival time; any other codec goes message by message."""
    if spec.is_plain("json"):
        return events_from_json
    make = message_decoder(spec)

    def decode(raws: list[bytes], metas: list[dict[str, Any]]) -> list[Event]:
        return [event for raw, meta in zip(raws, metas) for event in make(raw, meta)]

    return decode
