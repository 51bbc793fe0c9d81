"""``udp`` input: every datagram through the codec, events submitted in batches.

UDP cannot slow a sender down: see :mod:`logpipe.inputs.udp.receiver` for what
happens while the pipeline is full. A datagram longer than ``buffer_size`` is
cut to it and tagged ``_udp_datagram_truncated`` (and counted in
``truncated``); one the codec cannot read becomes a tagged event. Nothing a
sender does stops the input.
"""
from __future__ import annotations

import logging

from logpipe.codecs import Codec
from logpipe.core.event import Event
from logpipe.core.plugin import Input, InputContext
from logpipe.inputs.udp.config import UdpConfig
from logpipe.inputs.udp.receiver import DatagramReceiver

log = logging.getLogger("logpipe.input.udp")

TRUNCATED_TAG = "_udp_datagram_truncated"


class UdpInput(Input):
    Config = UdpConfig
    config: UdpConfig

    async def start(self) -> None:
        cfg = self.config
        self.codec: Codec = cfg.codec.build().check("decode")
        self._field = cfg.sender_field()
        self.truncated = 0
        self.receiver = DatagramReceiver(f"udp input {self.id}", queue_size=cfg.queue_size, log=log)
        self.bound_port = await self.receiver.bind(cfg.host, cfg.port, sockets=cfg.workers,
                                                   reuse_port=cfg.reuse_port,
                                                   receive_buffer_bytes=cfg.receive_buffer_bytes)

    def decode(self, data: bytes, sender: str) -> list[Event]:
        """The events of one datagram, stamped with the sender."""
        cut = len(data) > self.config.buffer_size
        if cut:
            self.truncated += 1
            data = data[:self.config.buffer_size]
        events = self.codec.decode(data)
        for e in events:
            if cut:
                e.add_tag(TRUNCATED_TAG)
            if e.get(self._field) is None:
                e.set(self._field, sender)
        return events

    async def run(self, ctx: InputContext) -> None:
        await self.receiver.drain(ctx, self.decode)

    async def stop(self) -> None:
        if hasattr(self, "receiver"):
            self.receiver.close()
