"""Settings of a dead-letter queue: a Kafka topic plus a local spill file.

The section is the same wherever it appears (under an ``elasticsearch``
output today, under any output that can reject events tomorrow), so it lives
here rather than in one output's config.
"""
from __future__ import annotations

from pydantic import Field

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
                          "when it is back. Default: data/dlq-spill/<output id>.jsonl.")
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
