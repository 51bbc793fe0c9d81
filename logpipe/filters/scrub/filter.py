"""The ``scrub`` filter: personal data and secrets out of every event."""
from __future__ import annotations

from logpipe.core.event import METADATA, Event
from logpipe.core.plugin import Filter, PluginContext
from logpipe.core.writes import ANY_KEY, Writes, set_paths
from logpipe.filters.scrub.config import ScrubConfig
from logpipe.filters.scrub.scrubber import Scrubber


class ScrubFilter(Filter):
    Config = ScrubConfig
    runs_on_event_loop = True
    config: ScrubConfig

    def __init__(self, config: ScrubConfig, *, id: str, context: PluginContext | None = None) -> None:
        super().__init__(config, id=id, context=context)
        #: Built here so a missing key fails start-up, not the first batch.
        self.scrubber = Scrubber(config, frozen=self.context.frozen)

    # The pipeline hands this scrubber to outputs and its dead-letter queue as
    # ``context.scrubber``, so they scrub with this pipeline's settings and key.

    def writes(self) -> Writes:
        """Copy-on-write below the top: masking, removing, truncating and the report
        replace the event's own top-level keys (and ``@metadata``'s) with changed
        copies; nothing nested is changed in place."""
        return set_paths((ANY_KEY,), (METADATA, ANY_KEY))

    def process(self, events: list[Event]) -> list[Event]:
        self.scrubber.scrub_batch(events)
        return events
