"""Settings of the ``elasticsearch`` output; names follow Logstash's output.

Every field's description is the user's documentation of that setting.
"""
from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from logpipe.core.plugin import PluginConfig
from logpipe.dlq.config import DeadLetterQueueConfig
from logpipe.outputs.elasticsearch import logstash as _logstash

MIB = 1024 * 1024


class ElasticsearchConfig(PluginConfig):
    """Bulk-index events into Elasticsearch."""

    logstash_defaults: ClassVar[dict[str, Any]] = _logstash.DEFAULTS

    @classmethod
    def from_logstash(cls, options: dict[str, Any]) -> dict[str, Any]:
        """Logstash's option names and shapes (see docs/logstash-plugins.md)."""
        return _logstash.from_logstash(options)

    hosts: list[str] = Field(
        default_factory=lambda: ["http://127.0.0.1:9200"],
        description="Elasticsearch URLs; requests are spread over them.")
    api_key: SecretStr | None = Field(
        None, description="API key (the base64 `id:key` form), sent as `Authorization: ApiKey`.")
    user: str | None = Field(None, description="User for HTTP basic authentication.")
    password: SecretStr | None = Field(None, description="Password for HTTP basic authentication.")
    ssl_enabled: bool | None = Field(
        None, description="Use TLS; unset means: whatever the host URLs say (https://).")
    ssl_certificate_authorities: list[str] = Field(
        default_factory=list, description="CA certificate files that sign the cluster's certificates.")
    ssl_verification_mode: Literal["full", "none"] = Field(
        "full", description="`full` checks the certificate and host name; `none` checks nothing "
                            "(test clusters only).")

    index: str = Field(
        "logpipe-%{+yyyy.MM.dd}",
        description="Target index, write alias or data stream; may use %{[field]} and %{+date} "
                    "templates.")
    action: Literal["create", "index"] = Field(
        "create",
        description="Bulk action. `create` never overwrites, is required by data streams, and "
                    "turns a redelivered event with a deterministic id into a no-op; `index` "
                    "overwrites.")
    document_id: str | None = Field(
        None, description="Document id template (%{[field]}); overrides id_strategy.")
    id_strategy: Literal["coordinates", "content_hash", "none"] = Field(
        "coordinates",
        description="How document ids are made when document_id is unset. `coordinates`: the "
                    "Kafka topic/partition/offset from @metadata, or a content hash for events "
                    "that have none; `content_hash`: a hash of the serialized document; `none`: "
                    "Elasticsearch assigns ids (a redelivered batch is then indexed twice).")
    pipeline: str | None = Field(
        None, description="Ingest pipeline to run, may be a template; empty result means none.")

    batch_size: int = Field(
        1000, ge=1, description="Most documents in one bulk request (Logstash: flush_size).")
    batch_bytes: int = Field(
        10 * MIB, ge=1024,
        description="Most uncompressed body bytes in one bulk request; a single larger document "
                    "is sent alone.")
    max_in_flight: int = Field(
        4, ge=1, description="Bulk requests sent at the same time by this output in one process.")
    http_compression: bool = Field(False, description="gzip request bodies.")
    compression_level: int = Field(1, ge=1, le=9, description="gzip level when http_compression is on.")
    timeout: float = Field(60.0, gt=0, description="Seconds before a bulk request is abandoned and "
                                                   "retried.")

    retry_initial_interval: float = Field(
        1.0, gt=0, description="Seconds before the first retry; doubles on each retry.")
    retry_max_interval: float = Field(64.0, gt=0, description="Longest wait between retries, seconds.")
    max_retries: int | None = Field(
        None, ge=0,
        description="Retries of a request before the batch fails (it is then redelivered by the "
                    "input). Unset: retry forever, holding the batch (backpressure).")
    dlq_custom_codes: list[int] = Field(
        default_factory=list,
        description="Item statuses dead-lettered in addition to 400 and 404 (instead of retried).")
    on_rejected: Literal["fail", "drop_with_log"] = Field(
        "fail",
        description="What to do with documents Elasticsearch rejects when this output has no "
                    "dead_letter_queue of its own: `fail` reports them rejected, so the "
                    "pipeline's dead-letter queue takes them (with `dead_letter_queue: {type: "
                    "none}` in the settings their batch fails for good); `drop_with_log` logs "
                    "each one and acknowledges.")
    template_check: bool = Field(True, description=(
        "At start, check that an index template covers each index this output will write "
        "(names derived from `index` and the fixed values the pipeline's filters give its "
        "fields); a missing one is logged as a warning."))
    template_required: bool = Field(False, description=(
        "Refuse to start when an index this output will write has no template, instead of "
        "warning (run `logpipe setup` first)."))
    dead_letter_queue: DeadLetterQueueConfig | None = Field(
        None, description="A Kafka dead-letter topic of this output's own for rejected documents "
                          "(unset: the pipeline's dead_letter_queue takes them).")

    @field_validator("api_key", "user", "password", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        # `api_key: ${LOGPIPE_ES_API_KEY:-}` in a shipped pipeline: no variable, no credentials
        # (a cluster that needs them answers 401, which is reported at start).
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @model_validator(mode="after")
    def _check(self) -> ElasticsearchConfig:
        if not self.hosts:
            raise ValueError("hosts must name at least one Elasticsearch URL")
        if self.api_key is not None and self.user is not None:
            raise ValueError("set either api_key or user/password, not both")
        if (self.user is None) != (self.password is None):
            raise ValueError("user and password go together")
        if self.retry_max_interval < self.retry_initial_interval:
            raise ValueError("retry_max_interval must be at least retry_initial_interval")
        return self
