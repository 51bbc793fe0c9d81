"""Redis items and messages into events, with where they came from in ``[@metadata][redis]``."""
from __future__ import annotations

from typing import Callable

from logpipe.core.codec import event_from_json, event_from_line
from logpipe.core.event import Event


def decoder(codec: str, data_type: str, key: str) -> Callable[[bytes], Event]:
    """For list items: every event gets its own metadata dict (filters may change it)."""
    make = event_from_json if codec == "json" else event_from_line

    def decode(raw: bytes) -> Event:
        return make(raw, {"redis": {"data_type": data_type, "key": key}})

    return decode


def message_decoder(codec: str, data_type: str, key: str) -> Callable[[bytes, bytes, bytes | None], Event]:
    """For pub/sub messages: also the channel, and the pattern that matched it."""
    make = event_from_json if codec == "json" else event_from_line

    def decode(raw: bytes, channel: bytes, pattern: bytes | None) -> Event:
        meta = {"data_type": data_type, "key": key, "channel": channel.decode("utf-8", "replace")}
        if pattern is not None:
            meta["pattern"] = pattern.decode("utf-8", "replace")
        return make(raw, {"redis": meta})

    return decode
