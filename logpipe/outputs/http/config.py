"""Settings of the ``http`` output (Logstash's names where Logstash has the setting)."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from logpipe.core.plugin import PluginConfig

CONTENT_TYPES = {"json": "application/json", "json_batch": "application/json",
                 "form": "application/x-www-form-urlencoded", "message": "text/plain"}


class HttpOutputConfig(PluginConfig):
    url: str = Field(description="Where to send; may use %{[field]} templates.")
    http_method: Literal["put", "post", "patch", "delete", "get", "head"] = Field(
        "post", description="HTTP method.")
    format: Literal["json", "json_batch", "form", "message"] = Field(
        "json", description="json: one request per event; json_batch: one JSON array per URL per batch; "
                            "form: url-encoded fields; message: the `message` template as the body.")
    message: str | None = Field(None, description="format message: the body template.")
    mapping: dict[str, Any] | None = Field(
        None, description="Body fields instead of the whole event (values may use templates).")
    headers: dict[str, str] = Field(default_factory=dict, description="Extra headers (values may use templates).")
    content_type: str | None = Field(None, description="Content-Type; default follows format.")
    http_compression: bool = Field(False, description="gzip request bodies.")
    user: str | None = Field(None, description="Basic authentication user ...")
    password: SecretStr | None = Field(None, description="... and password; never logged.")
    retry_failed: bool = Field(True, description="Retry responses with a retryable_codes status.")
    retryable_codes: list[int] = Field(default_factory=lambda: [429, 500, 502, 503, 504],
                                       description="Statuses that are retried.")
    ignorable_codes: list[int] = Field(default_factory=list, description="Statuses treated as success.")
    automatic_retries: int = Field(1, ge=0, description="Retries of a request whose connection failed.")
    retry_initial_interval: float = Field(0.5, gt=0, description="First pause before a retry (doubles).")
    retry_max_interval: float = Field(30.0, gt=0, description="Longest pause between retries.")
    retry_max_elapsed: float = Field(300.0, gt=0, description="Give up retrying a batch after this long.")
    request_timeout: float = Field(60.0, gt=0, description="Seconds for a whole request.")
    connect_timeout: float = Field(10.0, gt=0, description="Seconds to connect.")
    pool_max: int = Field(50, ge=1, description="Requests in flight at once.")
    pool_max_per_route: int = Field(25, ge=1, description="Connections per host.")
    keepalive: bool = Field(True, description="Reuse connections between requests.")
    socket_timeout: float = Field(10.0, gt=0, description="Seconds to wait for data from the server.")
    proxy: str | None = Field(None, description="HTTP proxy URL.")
    ssl_certificate_authorities: list[str] = Field(default_factory=list, description="PEM CA files to trust.")
    ssl_certificate: str | None = Field(None, description="PEM client certificate.")
    ssl_key: str | None = Field(None, description="PEM key of ssl_certificate.")
    ssl_verification_mode: Literal["full", "none"] = Field("full", description="Verify the server certificate.")

    @field_validator("http_method", mode="before")
    @classmethod
    def _lower(cls, v: Any) -> Any:
        return v.lower() if isinstance(v, str) else v

    @model_validator(mode="after")
    def _check(self) -> HttpOutputConfig:
        if self.format == "message" and not self.message:
            raise ValueError("format: message needs message (the body template)")
        if (self.user is None) != (self.password is None):
            raise ValueError("user and password go together")
        return self

    def body_type(self) -> str:
        return self.content_type or CONTENT_TYPES[self.format]
