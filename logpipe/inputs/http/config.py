"""Settings of the ``http`` input (Logstash's names where Logstash has the setting)."""
from __future__ import annotations

import ipaddress
from typing import Any, ClassVar, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from logpipe.inputs.http import logstash as _logstash
from logpipe.codecs.setting import logstash_codec_choice
from logpipe.net.tls import TlsServerOptions

MiB = 1024 * 1024


class HttpConfig(TlsServerOptions):
    """Receive events over HTTP(S): JSON, NDJSON or text bodies."""

    logstash_defaults: ClassVar[dict[str, Any]] = _logstash.DEFAULTS

    @classmethod
    def from_logstash(cls, options: dict[str, Any]) -> dict[str, Any]:
        """Logstash's option names and shapes (see docs/logstash-plugins.md); its codec by
        name. Without one, bodies follow Content-Type (auto), as Logstash's json codec for
        application/json does; plain and line give one event per line of a body."""
        return logstash_codec_choice(_logstash.from_logstash(options), {
            "plain": "lines", "line": "lines", "json": "json", "json_lines": "ndjson"}, "http input")

    host: str = Field("127.0.0.1", description="Address to listen on (0.0.0.0 for every interface).")
    port: int = Field(8080, ge=0, le=65535, description="TCP port; 0 picks a free one (tests).")
    reuse_port: bool = Field(
        True, description="Set SO_REUSEPORT so several worker processes can listen on the same port.")
    codec: Literal["auto", "json", "ndjson", "lines"] = Field(
        "auto",
        description="How bodies are read. auto follows Content-Type: application/json is one JSON "
                    "object or an array of them, application/x-ndjson (or jsonlines) one object per "
                    "line, text/plain one event per line; anything else is sniffed.")
    paths: list[str] | None = Field(
        None, description="Accepted request paths; unset accepts any path. Others get 404.")
    health_path: str = Field(
        "/health", description="GET here answers 200 (503 while stopping) without touching the pipeline.")
    metadata_headers: list[str] = Field(
        default_factory=list,
        description="Request headers copied to [@metadata][http][headers] (names lower-cased). "
                    "Authorization and Cookie are never copied.")
    auth_token: SecretStr | None = Field(
        None, description="Require `Authorization: Bearer <token>`.")
    user: str | None = Field(None, description="Require HTTP basic credentials with this user ...")
    password: SecretStr | None = Field(None, description="... and this password.")
    max_body_bytes: int = Field(
        16 * MiB, ge=1, description="Largest request body as sent (413 beyond).")
    max_decompressed_bytes: int = Field(
        64 * MiB, ge=1, description="Largest body after gzip/deflate decoding (413 beyond).")
    ndjson_partial: bool = Field(
        False,
        description="NDJSON with bad lines: false refuses the whole body (400); true accepts the good "
                    "lines and lists the bad ones in the response.")
    response_on: Literal["ack", "accept"] = Field(
        "ack",
        description="ack: answer 200 once every output has the events (at-least-once); accept: "
                    "answer 202 as soon as they are queued.")
    full_wait: float = Field(
        5.0, ge=0,
        description="Seconds a request waits for room when the pipeline queue is full, in turn with "
                    "the other inputs waiting, before it is answered full_status; 0 answers at once.")
    max_pending_requests: int = Field(
        200, ge=0,
        description="Requests that may wait for room at once (each holds its decoded body); more "
                    "are answered full_status at once.")
    max_pending_bytes: int = Field(
        2 * 1024 * 1024, ge=0,
        description="Body bytes (as received) that requests waiting for room may hold together: "
                    "waiting events live outside the queue's bounds, so this bounds their memory. A "
                    "request that would go over it is answered full_status at once, unless it would "
                    "wait alone.")
    full_status: Literal[429, 503] = Field(
        429, description="Status when the pipeline queue is full (after full_wait).")
    retry_after: int = Field(1, ge=0, description="Retry-After seconds sent with 429/503.")
    keepalive_timeout: float = Field(75.0, gt=0, description="Seconds an idle keep-alive connection is kept.")
    backlog: int = Field(1024, ge=1, description="Listen backlog of the socket.")
    allow_unauthenticated: bool = Field(
        False,
        description="Listen on a non-loopback address without any client authentication. By "
                    "default the input refuses to start on such an address unless auth_token, "
                    "user/password or ssl_client_authentication: required is set, so that a "
                    "missing secret never silently opens the pipeline to the network.")

    @field_validator("metadata_headers")
    @classmethod
    def _lower(cls, value: list[str]) -> list[str]:
        return [h.lower() for h in value]

    @field_validator("auth_token", "password")
    @classmethod
    def _not_blank(cls, value: SecretStr | None) -> SecretStr | None:
        # An unset ${VAR} must not turn into a credential that an empty header matches.
        if value is not None and not value.get_secret_value().strip():
            raise ValueError("must not be empty (is the environment variable it reads set?)")
        return value

    @model_validator(mode="after")
    def _check_auth(self) -> HttpConfig:
        if (self.user is None) != (self.password is None):
            raise ValueError("user and password go together")
        if self.health_path and not self.health_path.startswith("/"):
            raise ValueError("health_path must start with /")
        if not (is_loopback(self.host) or self.authenticates or self.allow_unauthenticated):
            raise ValueError(
                f"host {self.host!r} is reachable from the network but no client authentication is "
                "set: set auth_token, user/password or ssl_client_authentication: required, or "
                "allow_unauthenticated: true to accept anyone")
        return self

    @property
    def authenticates(self) -> bool:
        """Whether every request must prove who sent it."""
        return (self.auth_token is not None or self.password is not None
                or (self.ssl_enabled and self.ssl_client_authentication == "required"))


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # a host name or an empty string (every interface)
