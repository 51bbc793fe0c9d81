"""Settings of the ``fingerprint`` filter (Logstash's names and defaults)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from logpipe.filters.common import CommonOptions, StrList

Method = Literal["SHA1", "SHA256", "SHA384", "SHA512", "MD5", "MURMUR3", "MURMUR3_128",
                 "IPV4_NETWORK", "UUID", "PUNCTUATION"]


class FingerprintConfig(CommonOptions):
    """Hash one or more fields into a fingerprint, e.g. for Elasticsearch document ids."""

    source: StrList = Field(default_factory=lambda: ["message"], description=(
        "Fields to fingerprint. Without `concatenate_sources` each present field is hashed "
        "in turn and the last one wins (a list field gives a list of hashes)."))
    target: str | None = Field(None, description=(
        "Where the fingerprint goes; any current value is overwritten. Default: "
        "`fingerprint`, or `[event][hash]` when `ecs_compatibility` is v1/v8."))
    method: Method = Field("SHA1", description=(
        "SHA1, SHA256, SHA384, SHA512, MD5: hex digest (HMAC with `key` when set). MURMUR3: "
        "32-bit MurmurHash3 as an unsigned integer. MURMUR3_128: 128-bit MurmurHash3 (x64) "
        "as hex. IPV4_NETWORK: the IPv4 address masked to `key` bits. UUID: a random UUID "
        "(not consistent). PUNCTUATION: the field's text with everything but punctuation "
        "and symbols removed."))
    key: str | None = Field(None, description=(
        "HMAC key for the SHA and MD5 methods; the prefix length (bits) for IPV4_NETWORK."))
    base64encode: bool = Field(False, description=(
        "Base64 instead of hex for the SHA, MD5 and MURMUR3_128 methods."))
    concatenate_sources: bool = Field(False, description=(
        "Hash one string `|name|value|name|value|` built from all `source` fields (sorted "
        "by name) instead of each field on its own."))
    concatenate_all_fields: bool = Field(False, description=(
        "Hash one string built from every field of the event (sorted by name, "
        "`@metadata` excluded), as `concatenate_sources` does."))
    ecs_compatibility: Literal["disabled", "v1", "v8"] = Field("v8", description=(
        "Selects the default `target`: `fingerprint` when disabled, `[event][hash]` otherwise."))

    @model_validator(mode="after")
    def _key_for_network(self) -> FingerprintConfig:
        if self.method == "IPV4_NETWORK":
            if self.key is None or not self.key.strip().isdigit() or int(self.key) > 32:
                raise ValueError("method IPV4_NETWORK needs `key` set to a prefix length "
                                 "(0 to 32 bits)")
        return self

    @property
    def target_field(self) -> str:
        if self.target is not None:
            return self.target
        return "fingerprint" if self.ecs_compatibility == "disabled" else "[event][hash]"
