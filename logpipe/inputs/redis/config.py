"""Settings of the ``redis`` input (Logstash's names where Logstash has the setting)."""
from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, SecretStr, model_validator

from logpipe.codecs import CodecSetting, codec_field
from logpipe.core.plugin import PluginConfig
from logpipe.inputs.redis import logstash as _logstash


class RedisInputConfig(PluginConfig):
    """Read a Redis list, or subscribe to channels.

    Delivery guarantees differ by mode:

    - ``data_type: list`` with ``reliable: true``: at-least-once. Items are moved
      atomically to a processing list of this consumer and removed from it only
      once every output has them; after a crash they are delivered again.
    - ``data_type: list`` without ``reliable``: an item is gone from Redis the
      moment it is popped, so items in flight when the process dies (or when a
      reply is lost with the connection) are lost.
    - ``channel`` / ``pattern_channel``: Redis pub/sub is at-most-once by nature.
      Messages published while logpipe is disconnected, or dropped by Redis
      when a slow subscriber exceeds its output buffer limit, are never seen.
    """

    logstash_defaults: ClassVar[dict[str, Any]] = _logstash.DEFAULTS

    @classmethod
    def from_logstash(cls, options: dict[str, Any]) -> dict[str, Any]:
        """Logstash's option names and shapes (see docs/logstash-plugins.md)."""
        return _logstash.from_logstash(options)


    host: str = Field("127.0.0.1", description="Redis server host name or address.")
    port: int = Field(6379, ge=1, le=65535, description="Redis server port.")
    url: str | None = Field(
        None, description="redis:// or rediss:// URL; when set it replaces host, port and db.")
    db: int = Field(0, ge=0, description="Database number.")
    username: str | None = Field(None, description="ACL user name (Redis 6+).")
    password: SecretStr | None = Field(None, description="Password (or the ACL user's); never logged.")
    key: str = Field(description="The list to read, or the channel (pattern) to subscribe to.")
    data_type: Literal["list", "channel", "pattern_channel"] = Field(
        description="list: pop items; channel: SUBSCRIBE; pattern_channel: PSUBSCRIBE.")
    codec: CodecSetting = codec_field(
        "json", "json: each item is a JSON object (anything else is kept in `message` and tagged "
        "_jsonparsefailure). plain: the item becomes `message`. Any other decoding codec reads each item.")
    batch_count: int = Field(
        125, ge=1, le=5000, description="Most items taken from Redis at once (one batch).")
    reliable: bool = Field(
        False, description="list only: keep items in `<key>:processing:<consumer_id>` until delivered, "
        "and re-deliver what is left there on start (at-least-once).")
    consumer_id: str | None = Field(
        None, description="Names this consumer's processing list; default `<hostname>-<worker index>`. "
        "Set a stable name (e.g. the pod name of a StatefulSet) so a replacement process finds the "
        "items its predecessor left; with several worker processes `-<worker index>` is appended.")
    block_timeout: float = Field(
        1.0, gt=0, description="Seconds a blocking pop or a channel read waits before checking for "
        "shutdown.")
    connect_timeout: float = Field(5.0, gt=0, description="Seconds to wait for a connection.")
    reconnect_backoff_ms: int = Field(
        100, ge=1, description="First pause after a connection error; doubles on each failure.")
    reconnect_backoff_max_ms: int = Field(10_000, ge=1, description="Longest pause between reconnects.")
    ssl: bool = Field(False, description="Connect with TLS.")
    ssl_ca_certs: str | None = Field(None, description="PEM file of certificate authorities to trust.")
    ssl_certfile: str | None = Field(None, description="PEM client certificate.")
    ssl_keyfile: str | None = Field(None, description="PEM private key of ssl_certfile.")
    ssl_verify: bool = Field(True, description="Verify the server certificate (and its host name).")

    @model_validator(mode="after")
    def _check(self) -> RedisInputConfig:
        if self.reliable and self.data_type != "list":
            raise ValueError("reliable applies to data_type: list only (pub/sub cannot be acknowledged)")
        if self.reconnect_backoff_max_ms < self.reconnect_backoff_ms:
            raise ValueError("reconnect_backoff_max_ms must be at least reconnect_backoff_ms")
        tls_files = [n for n in ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile") if getattr(self, n)]
        if tls_files and not self.ssl and not (self.url or "").startswith("rediss://"):
            raise ValueError(f"{', '.join(tls_files)} set but ssl is false")
        return self
