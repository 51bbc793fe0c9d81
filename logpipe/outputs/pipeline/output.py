"""``pipeline`` output: the sending end of pipeline-to-pipeline.

Every address in ``send_to`` gets its own copy of each event (the receivers'
filters change them independently, as Logstash clones them). The send returns
once every receiving pipeline has settled its copies: an event is delivered
when every receiver delivered (or dead-lettered) it, retried when any receiver
wants it again, rejected when a receiver refused it for good. An address with
no listener holds the send (backpressure, logged) until one appears.
"""
from __future__ import annotations

import asyncio
from typing import Any

from pydantic import Field, field_validator

from logpipe.core.event import Event
from logpipe.core.outcome import Delivery
from logpipe.core.plugin import Output, PluginConfig
from logpipe.core.writes import Writes
from logpipe.outputs.pipeline.clone import clone


class PipelineOutputConfig(PluginConfig):
    send_to: list[str] = Field(min_length=1, description=(
        "Addresses of `pipeline` inputs of this process; each gets a copy of every event."))
    ensure_delivery: bool = Field(True, description=(
        "Logstash's option; only `true` is accepted: an address without a listener holds the "
        "events (backpressure) rather than dropping them."))

    @field_validator("send_to", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("ensure_delivery")
    @classmethod
    def _never_drop(cls, value: bool) -> bool:
        if not value:
            raise ValueError("ensure_delivery => false would drop events while the receiving "
                             "pipeline is down; logpipe always waits for it (leave it out)")
        return value


class PipelineOutput(Output):
    Config = PipelineOutputConfig
    config: PipelineOutputConfig

    def writes(self) -> Writes:
        """It sends deep copies (clone): the receiving pipeline never changes these events."""
        return Writes.nothing()

    async def send(self, events: list[Event]) -> Delivery | None:
        if not events:
            return None
        bus = self.context.pipelines
        sender = f"pipeline {self.context.pipeline} (output {self.id})"
        addresses = self.config.send_to
        deliveries = await asyncio.gather(*(
            bus.send(address, [clone(e) for e in events], sender=sender) for address in addresses))
        if len(deliveries) == 1:
            return deliveries[0]
        combined = Delivery()
        for address, delivery in zip(addresses, deliveries):
            for pos, reason in delivery.retry.items():
                combined.retry.setdefault(pos, f"{address}: {reason}")
            for pos, reason in delivery.rejected.items():
                if pos not in combined.rejected:
                    combined.reject(pos, f"{address}: {reason}", **delivery.details.get(pos, {}))
        for pos in combined.retry:
            combined.rejected.pop(pos, None)
            combined.details.pop(pos, None)
        return combined
