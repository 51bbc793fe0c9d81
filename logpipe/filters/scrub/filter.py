"""The ``scrub`` filter: personal data and secrets out of every event."""
from __future__ import annotations

from logpipe.core.event import Event
from logpipe.core.plugin import Filter, PluginContext
from logpipe.filters.scrub.config import ScrubConfig
from logpipe.filters.scrub.scrubber import Scrubber, offer_default_scrubber


class ScrubFilter(Filter):
    Config = ScrubConfig
    config: ScrubConfig

    def __init__(self, config: ScrubConfig, *, id: str, context: PluginContext | None = None) -> None:
        super().__init__(config, id=id, context=context)
        #: Built here so a missing key fails start-up, not the first batch.
        self.scrubber = Scrubber(config)

    async def start(self) -> None:
        # Outputs (DLQ, debug) scrub with the pipeline's own settings and key.
        self.context.shared.setdefault("scrubber", self.scrubber)
        offer_default_scrubber(self.scrubber)

    def process(self, events: list[Event]) -> list[Event]:
        scrub = self.scrubber.scrub
        for event in events:
            scrub(event)
        return events
