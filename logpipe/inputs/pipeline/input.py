"""``pipeline`` input: the receiving end of pipeline-to-pipeline.

It claims its ``address`` on the process's bus (``context.pipelines``) for as
long as it runs. Each send from a ``pipeline`` output becomes one batch of this
pipeline; the sender is answered only when that batch is settled, so the
upstream acknowledgement waits for this pipeline's outputs. A full queue makes
the sender wait (backpressure flows upstream); a queue already closed by a
shutdown answers "retry", so the upstream batch is not acknowledged.
"""
from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from logpipe.core.event import Event
from logpipe.core.outcome import Delivery
from logpipe.core.plugin import Input, InputContext, PluginConfig
from logpipe.core.queue import QueueClosed


class PipelineInputConfig(PluginConfig):
    address: str = Field(min_length=1, description=(
        "The address other pipelines' `pipeline` outputs send to (`send_to`). One input per "
        "address in a process; a second one is refused when the pipelines are loaded."))


class PipelineInput(Input):
    Config = PipelineInputConfig
    config: PipelineInputConfig
    #: Every worker process has its own bus: N workers each carry their share of the traffic.
    shared_by_workers: ClassVar[bool] = True

    async def run(self, ctx: InputContext) -> None:
        bus = self.context.pipelines
        address = self.config.address

        async def receive(events: list[Event]) -> Delivery:
            try:
                batch = await ctx.submit(events)
            except QueueClosed:
                return Delivery.all_retry(len(events), f"pipeline {self.context.pipeline} is stopping")
            if await batch.wait():
                return Delivery.all_delivered()
            reason = f"pipeline {self.context.pipeline}: {batch.reason or 'not delivered'}"
            if batch.retriable:
                return Delivery.all_retry(len(events), reason)
            return Delivery.all_rejected(len(events), reason)

        bus.listen(address, receive, owner=f"pipeline {self.context.pipeline} (input {self.id})")
        self.log.info("listening on pipeline address %r", address)
        try:
            await ctx.stopping.wait()
        finally:
            bus.unlisten(address, receive)
