"""Redis items and messages into events, with where they came from in ``[@metadata][redis]``."""
from __future__ import annotations

from typing import Callable

from logpipe.codecs import CodecSpec
from logpipe.codecs.messages import message_decoder as codec_decoder
from logpipe.core.event import Event


def decoder(codec: CodecSpec, data_type: str, key: str) -> Callable[[bytes], list[Event]]:
    """For list items: every event gets its own metadata dict (filters may change it)."""
    make = codec_decoder(codec)

    def decode(raw: bytes) -> list[Event]:
        return make(raw, {"redis": {"data_type": data_type, "key": key}})

    return decode


def message_decoder(codec: CodecSpec, data_type: str, key: str) -> Callable[[bytes, bytes, bytes | None], list[Event]]:
    """For pub/sub messages: also the channel, and the pattern that matched it."""
    make = codec_decoder(codec)

    def decode(raw: bytes, channel: bytes, pattern: bytes | None) -> list[Event]:
        meta = {"data_type": data_type, "key": key, "channel": channel.decode("utf-8", "replace")}
        if pattern is not None:
            meta["pattern"] = pattern.decode("utf-8", "replace")
        return make(raw, {"redis": meta})

    return decode
