"""Logstash's kafka input options as logpipe's (see docs/logstash-plugins.md)."""
from __future__ import annotations

from typing import Any

from logpipe.core.logstash import Options, as_list, input_common
from logpipe.net.kafka_logstash import (KAFKA_TUNING, SCHEMA_REGISTRY, kafka_numbers,
                                        kafka_security, no_java_classes)

#: Logstash's defaults where logpipe's differ.
DEFAULTS: dict[str, Any] = {"topics": ["logstash"], "group_id": "logstash",
                            "client_id": "logstash"}
_DESERIALIZER = "org.apache.kafka.common.serialization.StringDeserializer"


def from_logstash(options: dict[str, Any]) -> dict[str, Any]:
    opts = Options("kafka input", options)
    input_common(opts)
    kafka_security(opts)
    if opts.has("topics_pattern"):
        opts.take("topics", None)    # Logstash ignores topics when a pattern is given
    else:
        opts.rename("topics", "topics", as_list)
    kafka_numbers(opts, "max_poll_records", "fetch_max_bytes", "max_partition_fetch_bytes",
                  "fetch_max_wait_ms", "fetch_min_bytes", "session_timeout_ms",
                  "heartbeat_interval_ms", "max_poll_interval_ms", "request_timeout_ms",
                  "poll_timeout_ms")
    opts.rename("auto_commit_interval_ms", "commit_interval_ms", int)
    opts.rename("auto_offset_reset", "auto_offset_reset", _offset_reset)
    # Offsets are committed once the events are delivered, whatever enable_auto_commit
    # says; consumer_threads is what pipeline workers do here; decorate_events: the Kafka
    # coordinates are always in @metadata, which is never written out.
    opts.ignore("enable_auto_commit", "consumer_threads", "decorate_events",
                "partition_assignment_strategy", "auto_create_topics", "group_protocol",
                "exclude_internal_topics", *KAFKA_TUNING)
    opts.refuse("isolation_level", "only read_uncommitted is supported",
                allowed=lambda v: str(v) == "read_uncommitted")
    no_java_classes(opts, "key_deserializer_class", "value_deserializer_class",
                    default=_DESERIALIZER)
    for name in SCHEMA_REGISTRY:
        opts.refuse(name, "Avro with a schema registry is not supported; produce JSON")
    opts.refuse("group_instance_id", "static group membership is not supported")
    return opts.result()


def _offset_reset(value: Any) -> str:
    text = str(value).lower()
    if text not in ("earliest", "latest"):
        raise ValueError(f"{value!r}: only earliest and latest are supported")
    return text
