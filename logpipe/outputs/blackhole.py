"""``blackhole`` output (and ``null``, its Logstash name): takes everything and keeps a count."""
from __future__ import annotations

from logpipe.core.event import Event
from logpipe.core.plugin import Output, PluginConfig
from logpipe.core.writes import Writes


class BlackholeConfig(PluginConfig):
    pass


class BlackholeOutput(Output):
    Config = BlackholeConfig

    count = 0

    def writes(self) -> Writes:
        """It reads events and never changes them."""
        return Writes.nothing()

    async def send(self, events: list[Event]) -> None:
        self.count += len(events)


class NullOutput(BlackholeOutput):
    """Logstash's ``null`` output: the same as ``blackhole``, under Logstash's name."""
