"""Settings of dead-letter queues.

:class:`DeadLetterQueueConfig` is a Kafka topic plus a local spill file; it is
the ``kafka:`` part of the pipeline's ``dead_letter_queue`` and an elasticsearch
output's own ``dead_letter_queue``. :class:`PipelineDeadLetterQueue` is the
pipeline-level setting: a directory of segment files (default), Kafka, or none.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from logpipe.net.kafka_security import KafkaSecurityConfig

DEFAULT_TOPIC = "logpipe-dlq"


class DeadLetterQueueConfig(KafkaSecurityConfig):
    """Where events an output cannot deliver are kept, with the reason.

    Security settings (``security_protocol``, ``sasl_*``, ``ssl_*``) are the
    same as the kafka input's and output's.
    """

    bootstrap_servers: str | list[str] = Field(
        description="Kafka brokers, `host:port` (a comma-separated string or a list).")
    topic: str = Field(DEFAULT_TOPIC, description="Topic that receives dead-lettered events.")
    spill_path: str | None = Field(
        None, description="Append-only file used while Kafka is unreachable; drained to the topic "
                          "when it is back. Default: <path.data>/dlq-spill/<pipeline>/<output id>.jsonl.")
    scrub: bool = Field(
        False, description="Run the scrub filter's masking over each event again before it is "
                           "written (the pipeline normally scrubs earlier).")
    send_timeout: float = Field(
        15.0, gt=0, description="Seconds to wait for Kafka to confirm records before spilling "
                                "them to the local file instead.")
    drain_interval: float = Field(
        10.0, gt=0, description="Seconds between attempts to drain the spill file to Kafka.")
    client_id: str = Field("logpipe-dlq", description="Kafka client id of the producer.")

    def servers(self) -> list[str]:
        raw = self.bootstrap_servers
        items = raw.split(",") if isinstance(raw, str) else raw
        return [s.strip() for s in items if s.strip()]


MIB = 1024 * 1024


class PipelineDeadLetterQueue(BaseModel):
    """The pipeline's dead-letter queue: where every output's rejected events go.

    ``directory`` (the default) writes segment files under
    ``path.dead_letter_queue`` (default ``<path.data>/dead_letter_queue``), one
    directory per pipeline; ``kafka`` sends records to a topic (with a local
    spill file while Kafka is away); ``none`` keeps no dead letters: a rejected
    event then fails its batch for good (an HTTP client gets a 4xx with the reason).
    """

    model_config = ConfigDict(extra="forbid")

    type: Literal["directory", "kafka", "none"] = Field(
        "directory", description="`directory` (segment files), `kafka` (a topic) or `none`.")
    max_segment_bytes: int = Field(
        10 * MIB, ge=1024, description="directory: a segment file is closed and a new one begun "
                                       "past this size.")
    max_bytes: int = Field(
        1024 * MIB, ge=1024,
        description="directory: most bytes all segments may take; when full, the pipeline waits "
                    "(backpressure, logged loudly) instead of dropping dead letters.")
    flush_interval_ms: int = Field(
        0, ge=0, description="directory: 0 fsyncs every write before its batch is acknowledged; "
                             "more fsyncs at most this often (faster, a crash may lose the last "
                             "records).")
    scrub: bool = Field(
        False, description="Run the pipeline's own scrub settings over each event again before "
                           "it is written.")
    kafka: DeadLetterQueueConfig | None = Field(
        None, description="kafka: brokers, topic, security, spill file (as an output's "
                          "`dead_letter_queue`).")

    @model_validator(mode="after")
    def _check(self) -> PipelineDeadLetterQueue:
        if self.type == "kafka" and self.kafka is None:
            raise ValueError("type: kafka needs a `kafka:` section (bootstrap_servers, topic)")
        return self
