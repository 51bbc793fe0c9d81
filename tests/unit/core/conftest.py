"""Test plugins for engine tests: a counting input and controllable outputs."""
from __future__ import annotations

import asyncio
from typing import Any

import pytest

from logpipe.core import registry
from logpipe.core.event import Event
from logpipe.core.plugin import Input, InputContext, Output, PluginConfig


class CountingInputConfig(PluginConfig):
    batches: int = 10
    batch: int = 100
    endless: bool = False


class CountingInput(Input):
    """Submits numbered events; records how far it got and whether a submit is waiting."""

    Config = CountingInputConfig
    endless = False
    instances: list[CountingInput] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.submitted = 0
        self.waiting = False
        self.batches: list[Any] = []
        self.done_order: list[int] = []
        CountingInput.instances.append(self)

    async def run(self, ctx: InputContext) -> None:
        cfg: CountingInputConfig = self.config  # type: ignore[assignment]
        n = 0
        while (cfg.endless or n < cfg.batches) and not ctx.stopping.is_set():
            events = [Event({"n": n * cfg.batch + i}) for i in range(cfg.batch)]
            self.waiting = True
            batch = await ctx.submit(events, size=cfg.batch * 10, token=n,
                                     on_done=lambda b: self.done_order.append(b.token))
            self.waiting = False
            self.batches.append(batch)
            self.submitted += len(events)
            n += 1
            await asyncio.sleep(0)


class GateConfig(PluginConfig):
    fail: bool = False


class GatedOutput(Output):
    """Holds every send until ``gate`` opens; records what it took."""

    Config = GateConfig
    instances: list[GatedOutput] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gate = asyncio.Event()
        self.received: list[int] = []
        self.in_send = 0
        GatedOutput.instances.append(self)

    async def send(self, events: list[Event]) -> None:
        self.in_send += 1
        try:
            await self.gate.wait()
        finally:
            self.in_send -= 1
        if self.config.fail:  # type: ignore[attr-defined]
            raise RuntimeError("output refused the batch")
        self.received.extend(e.data["n"] for e in events)


class RecordingOutput(Output):
    Config = PluginConfig
    instances: list[RecordingOutput] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.received: list[int] = []
        RecordingOutput.instances.append(self)

    async def send(self, events: list[Event]) -> None:
        self.received.extend(e.data["n"] for e in events)


@pytest.fixture(autouse=True)
def test_plugins() -> None:
    registry.register("input", "counting", CountingInput)
    registry.register("output", "gated", GatedOutput)
    registry.register("output", "recording", RecordingOutput)
    CountingInput.instances.clear()
    GatedOutput.instances.clear()
    RecordingOutput.instances.clear()


async def until(predicate: Any, timeout: float = 10.0) -> None:
    """Poll a condition on the running loop (not a sleep standing in for one)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.005)
