"""Settings of the ``redis`` output (Logstash's names where Logstash has the setting)."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from logpipe.codecs import CodecSetting, codec_field
from logpipe.core.plugin import PluginConfig


class RedisOutputConfig(PluginConfig):
    host: list[str] = Field(default_factory=lambda: ["127.0.0.1"],
                            description="Servers as host or host:port; the first that answers is used.")
    port: int = Field(6379, ge=1, le=65535, description="Port of host entries that name none.")
    url: str | None = Field(None, description="redis:// or rediss:// URL; replaces host, port and db.")
    db: int = Field(0, ge=0, description="Database number.")
    username: str | None = Field(None, description="ACL user name (Redis 6+).")
    password: SecretStr | None = Field(None, description="Password; never logged.")
    data_type: Literal["list", "channel"] = Field(description="list: RPUSH to the key; channel: PUBLISH on it.")
    key: str = Field(description="List or channel name; may use %{[field]} templates.")
    codec: CodecSetting = codec_field("json", "How each event is written (json by default, as Logstash).")
    batch: bool = Field(False, description="list: push up to batch_events items per RPUSH.")
    batch_events: int = Field(50, ge=1, description="Items per RPUSH when batch is on.")
    batch_timeout: float = Field(
        5.0, gt=0, description="Accepted for Logstash configs: events are written when their pipeline "
                               "batch comes, never held longer.")
    shuffle_hosts: bool = Field(True, description="Try the hosts in a random order (spreads producers).")
    congestion_threshold: int = Field(
        0, ge=0, description="list: wait while the list holds more than this many items (0: never wait).")
    congestion_interval: float = Field(1.0, gt=0, description="Seconds between congestion checks.")
    timeout: float = Field(5.0, gt=0, description="Seconds to connect and for each command.")
    reconnect_interval: float = Field(1.0, gt=0, description="First pause before retrying (doubles, up to 30 s).")
    retries: int = Field(5, ge=0, description="Attempts after the first before a batch fails.")
    ssl_enabled: bool = Field(False, description="Connect with TLS.")
    ssl_certificate_authorities: list[str] = Field(default_factory=list, description="PEM CA files to trust.")
    ssl_certificate: str | None = Field(None, description="PEM client certificate.")
    ssl_key: str | None = Field(None, description="PEM key of ssl_certificate.")
    ssl_verification_mode: Literal["full", "none"] = Field("full", description="Verify the server certificate.")

    @field_validator("host", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @model_validator(mode="after")
    def _check(self) -> RedisOutputConfig:
        if self.batch and self.data_type != "list":
            raise ValueError("batch applies to data_type: list only")
        return self

    def endpoints(self) -> list[tuple[str, int]]:
        out = []
        for h in self.host:
            name, sep, port = h.rpartition(":")
            out.append((name, int(port)) if sep and port.isdigit() else (h, self.port))
        return out
