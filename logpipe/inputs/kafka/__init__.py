"""``kafka`` input: consumer-group reading with offsets committed after delivery."""
from __future__ import annotations

from logpipe.inputs.kafka.config import KafkaInputConfig
from logpipe.inputs.kafka.consumer import KafkaInput

__all__ = ["KafkaInput", "KafkaInputConfig"]
