"""The plugin author's surface: what ``logpipe`` re-exports, pinned so it cannot grow by accident."""
from __future__ import annotations

import logpipe

EXPECTED = [
    "ConfigError", "DeadLetter", "DecodeError", "Delivery", "DeliveryError", "Event", "Filter",
    "Input", "InputContext", "LogpipeError", "Outcome", "Output", "PluginConfig", "PluginContext",
    "PluginNotFound", "Status", "__version__",
]


def test_the_public_names_are_pinned() -> None:
    assert sorted(logpipe.__all__) == sorted(EXPECTED)


def test_every_public_name_resolves_to_the_engine_s_own_object() -> None:
    from logpipe.core.outcome import Delivery
    from logpipe.core.plugin import Output
    from logpipe.errors import DeliveryError

    for name in EXPECTED:
        assert getattr(logpipe, name) is not None
    assert logpipe.Output is Output and logpipe.Delivery is Delivery
    assert logpipe.DeliveryError is DeliveryError


def test_an_output_written_against_the_root_alone_works() -> None:
    """What a plugin author writes: only ``logpipe`` imports, an outcome per event."""
    import asyncio

    from logpipe import Delivery, Event, Output, PluginConfig, Status

    class Picky(Output):
        Config = PluginConfig

        async def send(self, events: list[Event]) -> Delivery | None:
            d = Delivery()
            d.reject(1, "too big")
            return d

    delivery = asyncio.run(Picky(PluginConfig(), id="p").send([Event({}), Event({})]))
    assert delivery is not None
    assert [o.status for o in delivery.outcomes(2)] == [Status.DELIVERED, Status.REJECTED]
