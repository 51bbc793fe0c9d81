"""The address bus that connects pipelines of one process (pipeline-to-pipeline).

A ``pipeline`` input listens on an address; a ``pipeline`` output sends to
addresses. The bus is owned by the runtime (one per worker process, shared by
every pipeline of that process) and reaches plugins as ``context.pipelines``,
so no plugin keeps process-wide state of its own.

A send completes only once the receiving pipeline has *settled* the events:
delivered by its outputs, or dead-lettered by its engine. Logstash's
pipeline-to-pipeline acknowledges as soon as the downstream queue has the
events; here the upstream batch (and the Kafka offset, Beats window or HTTP
answer behind it) waits for the downstream outputs, so at-least-once holds
across the hop. What the receiver could not deliver comes back as the
matching outcome: retry (transient) or rejected (for good; the sender's engine
dead-letters it).

An address with no listener is backpressure: the send waits (and says so in
the log) until a pipeline listens there or the sender gives up (cancelled at
shutdown; its batch is then not acknowledged).
"""
from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable

from logpipe.core.event import Event
from logpipe.core.outcome import Delivery

log = logging.getLogger("logpipe.bus")

#: Takes events (the sender's copies) and returns once they are settled downstream.
Receiver = Callable[[list[Event]], Awaitable[Delivery]]


class AddressInUse(Exception):
    """Two pipeline inputs of one process claimed the same address."""


class PipelineBus:
    """Addresses to receivers, for the pipelines of one process."""

    #: How often a send that waits for a listener says so again.
    WAIT_LOG_INTERVAL = 30.0

    def __init__(self) -> None:
        self._receivers: dict[str, Receiver] = {}
        self._owners: dict[str, str] = {}
        self._changed = asyncio.Event()

    def listen(self, address: str, receiver: Receiver, *, owner: str = "") -> None:
        """Claim ``address``; refused when another input holds it."""
        if address in self._receivers:
            raise AddressInUse(f"address {address!r} is already taken by {self._owners[address]}")
        self._receivers[address] = receiver
        self._owners[address] = owner
        self._changed.set()
        self._changed = asyncio.Event()

    def unlisten(self, address: str, receiver: Receiver) -> None:
        if self._receivers.get(address) is receiver:
            del self._receivers[address]
            del self._owners[address]

    def listening(self, address: str) -> bool:
        return address in self._receivers

    @property
    def addresses(self) -> list[str]:
        return sorted(self._receivers)

    async def send(self, address: str, events: list[Event], *, sender: str = "") -> Delivery:
        """Hand ``events`` to the pipeline listening on ``address``; wait for their outcome."""
        waited = 0.0
        while True:
            receiver = self._receivers.get(address)
            if receiver is not None:
                break
            if waited == 0.0 or waited >= self.WAIT_LOG_INTERVAL:
                log.warning("%s: no pipeline listens on address %r; holding %d events until one "
                            "does (backpressure)", sender or "pipeline output", address, len(events))
                waited = 0.0
            changed = self._changed
            loop = asyncio.get_running_loop()
            start = loop.time()
            try:
                await asyncio.wait_for(changed.wait(), self.WAIT_LOG_INTERVAL)
            except TimeoutError:
                pass
            waited += max(loop.time() - start, 1e-9)
        if waited:
            log.info("%s: address %r has a listener again", sender or "pipeline output", address)
        return await receiver(events)
