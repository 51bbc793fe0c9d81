"""Redis items and messages into events, with where they came from in ``[@metadata][redis]``."""
from __future__ import annotations

from typing import Callable

from logpipe.codecs import CodecSpec
from logpipe.codecs.messages import batch_decoder, message_decoder as codec_decoder
from logpipe.core.event import Event


def decoder(codec: CodecSpec, data_type: str, key: str) -> Callable[[list[bytes]], list[Event]]:
    """For list items, a batch at a time (in one call with the json codec): every
    event gets its own metadata dict (filters may change it)."""
    decode_batch = batch_decoder(codec)

    def decode(raws: list[bytes]) -> list[Event]:
        return decode_batch(raws, [{"redis": {"data_type": data_type, "key": key}} for _ in raws])

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
