"""Logstash's kafka output options as logpipe's (see docs/logstash-plugins.md)."""
from __future__ import annotations

from typing import Any

from logpipe.core.logstash import Options, output_common
from logpipe.net.kafka_logstash import (KAFKA_TUNING, SCHEMA_REGISTRY, kafka_numbers,
                                        kafka_security, no_java_classes)

#: Logstash's defaults where logpipe's differ and the difference shows in what is written.
#: (Logstash's ``acks => "1"`` is not taken: logpipe keeps ``all`` with idempotence, which
#: loses nothing when a leader fails; set ``acks`` to get Logstash's behaviour.)
DEFAULTS: dict[str, Any] = {}
_SERIALIZER = "org.apache.kafka.common.serialization.StringSerializer"


def from_logstash(options: dict[str, Any]) -> dict[str, Any]:
    opts = Options("kafka output", options)
    output_common(opts)
    kafka_security(opts)
    kafka_numbers(opts, "batch_size", "linger_ms", "max_request_size", "request_timeout_ms",
                  "retries", "retry_backoff_ms")
    acks = opts.get("acks")
    if acks is not None and str(acks) != "all" and not opts.has("enable_idempotence"):
        opts.set("enable_idempotence", False)   # Kafka only de-duplicates with acks all
    # Partitioning and buffer tuning change where and when records go, not what they hold.
    opts.ignore("partitioner", "buffer_memory", "max_block_ms", "metadata_fetch_timeout_ms",
                *[n for n in KAFKA_TUNING if n != "retry_backoff_ms"])
    no_java_classes(opts, "key_serializer", "value_serializer", default=_SERIALIZER)
    opts.refuse("message_headers", "record headers are not written; put the values in the "
                "event instead")
    for name in SCHEMA_REGISTRY:
        opts.refuse(name, "Avro with a schema registry is not supported; produce JSON")
    return opts.result()
