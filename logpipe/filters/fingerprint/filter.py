"""The fingerprint filter.

Values are turned into text the way Logstash does it (see
:mod:`logpipe.filters.rubytext`) before hashing, so a migrated pipeline writes
the same fingerprints (and so the same document ids) as the one it replaces.
Objects and lists are hashed in Logstash's canonical ``k|v|k|v`` form. Integers
hashed with MURMUR3 are 8 little-endian bytes, with MURMUR3_128 4 or 8 (seed 2), as
Logstash's murmurhash3 library does; everything else is UTF-8 text.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import struct
import uuid
from typing import Any, Callable

import mmh3
import regex

from logpipe.core.event import METADATA, Event
from logpipe.core.fieldref import parse
from logpipe.core.plugin import Filter, PluginContext
from logpipe.core.writes import TAGS_CHANGE, Writes, set_paths
from logpipe.filters.common import CommonActions, common_writes
from logpipe.filters.fingerprint.config import FingerprintConfig
from logpipe.filters.rubytext import canonical, deep_sorted, to_s

#: Added when IPV4_NETWORK meets a value that is no IPv4 address.
FAILURE_TAG = "_fingerprintfailure"
_NOT_PUNCTUATION = regex.compile(r"[^\p{P}\p{S}]")
#: Logstash hashes MURMUR3_128 with seed 2, integers as 4 or 8 little-endian bytes.
_MURMUR3_128_SEED = 2
_INT32_MIN, _INT32_MAX = -(1 << 31), (1 << 31) - 1
_DIGESTS = {"SHA1": "sha1", "SHA256": "sha256", "SHA384": "sha384", "SHA512": "sha512",
            "MD5": "md5"}


def _digest_function(config: FingerprintConfig) -> Callable[[Any], Any]:
    method = config.method
    encode = (lambda raw: base64.b64encode(raw).decode("ascii")) if config.base64encode \
        else (lambda raw: raw.hex())
    if method in _DIGESTS:
        name = _DIGESTS[method]
        if config.key is None:
            return lambda value: encode(hashlib.new(name, to_s(value).encode()).digest())
        key = config.key.encode()
        return lambda value: encode(hmac.new(key, to_s(value).encode(), name).digest())
    if method == "MURMUR3":
        def murmur3(value: Any) -> int:
            if isinstance(value, int) and not isinstance(value, bool):
                return mmh3.hash(struct.pack("<q", value), signed=False)
            return mmh3.hash(to_s(value).encode(), signed=False)
        return murmur3
    if method == "MURMUR3_128":
        def murmur3_128(value: Any) -> str:
            if isinstance(value, int) and not isinstance(value, bool):
                raw = struct.pack("<i" if _INT32_MIN <= value <= _INT32_MAX else "<q", value)
            else:
                raw = to_s(value).encode()
            return encode(mmh3.hash_bytes(raw, _MURMUR3_128_SEED, x64arch=True))
        return murmur3_128
    assert method == "IPV4_NETWORK"
    bits = int(config.key or 0)

    def network(value: Any) -> str:
        address = ipaddress.IPv4Address(to_s(value).strip())
        return str(ipaddress.IPv4Network((address, bits), strict=False).network_address)
    return network


class FingerprintFilter(Filter):
    """Writes the fingerprint of ``source`` into ``target``."""

    Config = FingerprintConfig
    runs_on_event_loop = True
    config: FingerprintConfig

    def __init__(self, config: FingerprintConfig, *, id: str,
                 context: PluginContext | None = None) -> None:
        super().__init__(config, id=id, context=context)
        self._target = parse(config.target_field)
        self._sources = [(name, parse(name)) for name in config.source]
        self._sorted_sources = sorted(self._sources)
        self._concatenate = config.concatenate_sources or config.concatenate_all_fields
        self._digest = (_digest_function(config)
                        if config.method not in ("UUID", "PUNCTUATION") else None)
        self._actions = CommonActions(config)

    def writes(self) -> Writes:
        """The target (a new text, or a new list of texts); the failure tag; the
        common options."""
        return set_paths(self._target) + TAGS_CHANGE + common_writes(self.config)

    def process(self, events: list[Event]) -> list[Event]:
        done: list[Event] = []
        for event in events:
            try:
                self._fingerprint(event)
            except ValueError as exc:
                self.log.debug("fingerprint failed: %s", exc)
                event.add_tag(FAILURE_TAG)
                continue
            done.append(event)
        self._actions.apply(done)
        return events

    def _fingerprint(self, event: Event) -> None:
        method = self.config.method
        if method == "UUID":
            event.set_path(self._target, str(uuid.uuid4()))
            return
        if method == "PUNCTUATION":
            for _name, path in self._sorted_sources:
                value = event.get_path(path)
                if value is not None:
                    event.set_path(self._target, _NOT_PUNCTUATION.sub("", to_s(value)))
            return
        digest = self._digest
        assert digest is not None
        if self._concatenate:
            event.set_path(self._target, digest(self._concatenated(event)))
            return
        for _name, path in self._sources:
            value = event.get_path(path)
            if value is None and not event.contains_path(path):
                continue
            if isinstance(value, list):
                event.set_path(self._target, [digest(canonical(v)) for v in value])
            else:
                event.set_path(self._target, digest(canonical(value)))

    def _concatenated(self, event: Event) -> str:
        parts: list[str] = []
        if self.config.concatenate_all_fields:
            data = {k: v for k, v in event.data.items() if k != METADATA}
            for key, value in deep_sorted(data).items():
                parts.append(f"|{key}|{to_s(canonical(value))}")
        else:
            for name, path in self._sorted_sources:
                parts.append(f"|{name}|{to_s(canonical(event.get_path(path)))}")
        parts.append("|")
        return "".join(parts)
