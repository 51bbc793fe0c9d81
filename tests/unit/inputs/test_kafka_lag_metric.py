"""The Kafka input's lag gauge follows the partitions it owns."""
from __future__ import annotations

from typing import Any

from aiokafka import TopicPartition

from logpipe.core.plugin import PluginContext
from logpipe.inputs.kafka import KafkaInput
from logpipe.runtime.metrics import MetricsRegistry


class OwnedPartitions:
    """Stands in for the consumer: what is assigned and where each partition ends."""

    def __init__(self, ends: dict[TopicPartition, int]) -> None:
        self.ends = ends

    def assignment(self) -> set[TopicPartition]:
        return set(self.ends)

    def highwater(self, tp: TopicPartition) -> int | None:
        return self.ends.get(tp)


def lag_samples(registry: MetricsRegistry) -> dict[int, Any]:
    for family in registry.snapshot():
        if family["name"] == "logpipe_kafka_consumer_lag":
            assert family["merge"] == "max"
            return {int(labels["partition"]): value for labels, value in family["samples"]}
    return {}


def test_lag_is_published_per_owned_partition_and_dropped_when_given_away() -> None:
    registry = MetricsRegistry()
    cfg = KafkaInput.Config(bootstrap_servers="127.0.0.1:9092", topics=["t"], group_id="g")
    kafka = KafkaInput(cfg, id="kafka", context=PluginContext(metrics=registry))
    p0, p1 = TopicPartition("t", 0), TopicPartition("t", 1)
    kafka._consumer = OwnedPartitions({p0: 100, p1: 50})  # type: ignore[assignment]
    kafka._positions = {p0: 40, p1: 50}
    kafka._publish_lag()
    assert lag_samples(registry) == {0: 60, 1: 0}

    # a rebalance takes partition 0 away: its figure must not linger at 60
    kafka._consumer = OwnedPartitions({p1: 80})  # type: ignore[assignment]
    kafka._positions = {p1: 75}
    kafka._publish_lag()
    assert lag_samples(registry) == {1: 5}
