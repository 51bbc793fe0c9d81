"""Settings of the ``kafka`` input (Logstash's names where Logstash has the setting)."""
from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from logpipe.codecs import CodecSetting, codec_field
from logpipe.inputs.kafka import logstash as _logstash
from logpipe.net.kafka_security import KafkaSecurityConfig


class KafkaInputConfig(KafkaSecurityConfig):
    """Consume topics as a member of a consumer group, committing only delivered offsets."""

    logstash_defaults: ClassVar[dict[str, Any]] = _logstash.DEFAULTS

    @classmethod
    def from_logstash(cls, options: dict[str, Any]) -> dict[str, Any]:
        """Logstash's option names and shapes (see docs/logstash-plugins.md)."""
        return _logstash.from_logstash(options)

    bootstrap_servers: str = Field(
        "localhost:9092", description="Comma-separated host:port list used to discover the cluster.")
    topics: list[str] | None = Field(None, description="Topics to consume (or use topics_pattern).")
    topics_pattern: str | None = Field(
        None, description="Regular expression of topics to consume; new matching topics are picked up.")
    group_id: str = Field(
        "logpipe", description="Consumer group: replicas with the same group_id share the partitions.")
    client_id: str = Field("logpipe", description="Client name shown in broker logs and quotas.")
    auto_offset_reset: Literal["earliest", "latest"] = Field(
        "latest", description="Where a group with no committed offset starts: earliest (the whole "
        "retained log) or latest (only new records).")
    codec: CodecSetting = codec_field(
        "plain", "plain: the value becomes `message`. json: the value is a JSON object; anything "
        "else is kept in `message` and tagged _jsonparsefailure. Any other decoding codec (cef, "
        "json_lines, line, ...) reads each value.")
    max_poll_records: int = Field(500, ge=1, description="Most records taken from one poll.")
    poll_timeout_ms: int = Field(
        100, ge=1, description="How long one poll waits for records before checking for shutdown.")
    fetch_max_bytes: int = Field(
        8 * 1024 * 1024, ge=1024,
        description="Most bytes one fetch response may carry; with max_partition_fetch_bytes, bounds "
        "what the client prefetches while the pipeline is busy.")
    max_partition_fetch_bytes: int = Field(
        1024 * 1024, ge=1024, description="Most bytes fetched per partition per request; must exceed "
        "the largest record.")
    fetch_max_wait_ms: int = Field(
        500, ge=0, description="How long the broker may hold a fetch to gather fetch_min_bytes.")
    fetch_min_bytes: int = Field(1, ge=1, description="Bytes the broker waits for before answering a fetch.")
    session_timeout_ms: int = Field(
        10_000, ge=1000, description="Without a heartbeat for this long, the group reassigns our partitions.")
    heartbeat_interval_ms: int = Field(
        3000, ge=100, description="Heartbeat period; keep it under a third of session_timeout_ms.")
    max_poll_interval_ms: int = Field(
        300_000, ge=1000, description="Longest gap between polls before the member is considered stuck.")
    request_timeout_ms: int = Field(40_000, ge=1000, description="Client request timeout.")
    commit_interval_ms: int = Field(
        1000, ge=10,
        description="How often delivered offsets are committed (also on shutdown and rebalance).")
    rebalance_wait_ms: int = Field(
        5000, ge=0, description="On a rebalance, how long to wait for in-flight batches of revoked "
        "partitions to be delivered so their offsets can be committed before another member takes over.")
    redelivery_backoff_ms: int = Field(
        1000, ge=0, description="After a batch fails, its partition is re-read from the failed offset "
        "after this pause, doubling on repeated failures up to 30 s.")

    @model_validator(mode="after")
    def _one_subscription(self) -> KafkaInputConfig:
        if bool(self.topics) == bool(self.topics_pattern):
            raise ValueError("set exactly one of topics or topics_pattern")
        if self.heartbeat_interval_ms >= self.session_timeout_ms:
            raise ValueError("heartbeat_interval_ms must be below session_timeout_ms")
        return self
