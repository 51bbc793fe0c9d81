"""Services the engine hands to plugins through their context.

Each is a small typed object with its own job, so a plugin never reaches for a
queue, a process-wide registry or a module global:

- :class:`DeadLetters`: put events into the pipeline's dead-letter queue, with
  the plugin id, the pipeline, a reason and the time (scrubbed with the
  pipeline's own scrub settings when asked).
- :class:`Resources`: process-wide objects shared by plugins of the same
  process (one Elasticsearch client per cluster), counted, closed with the last user.
- :class:`Scrubbing`: what a scrubber offers (the pipeline's ``scrub`` filter's).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Protocol, TypeVar

from logpipe.core.event import Event

if TYPE_CHECKING:
    from logpipe.dlq.queue import DeadLetterQueue
    from logpipe.dlq.record import DeadLetterRecord

T = TypeVar("T")


class Scrubbing(Protocol):
    def scrub(self, event: Event) -> Any: ...


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One event the pipeline could not deliver, and why."""

    event: Event
    plugin_id: str
    plugin_type: str
    reason: str
    #: What the output knows about where it was going (index, document_id, status, action).
    details: dict[str, Any] | None = None


class DeadLetters:
    """The pipeline's dead-letter queue, as plugins and the engine use it."""

    def __init__(self, queue: DeadLetterQueue | None, *, pipeline: str,
                 scrubber: Scrubbing | None = None, scrub: bool = False) -> None:
        self.queue = queue
        self.pipeline = pipeline
        self.scrubber = scrubber
        self.scrub = scrub
        self.written = 0

    @property
    def destination(self) -> str:
        return self.queue.destination if self.queue is not None else "none"

    def record(self, letter: DeadLetter, time: datetime | None = None) -> DeadLetterRecord:
        from logpipe.dlq.record import build_record, error_type_of

        event = letter.event
        if self.scrub and self.scrubber is not None:
            event = event.copy()
            self.scrubber.scrub(event)
        details = letter.details or {}
        return build_record(event=event.data, error_type=str(details.get("error_type") or
                                                             error_type_of(letter.reason)),
                            reason=letter.reason, status=details.get("status"),
                            index=details.get("index"), document_id=details.get("document_id"),
                            action=details.get("action"), ingest_pipeline=details.get("ingest_pipeline"),
                            pipeline=self.pipeline, plugin_id=letter.plugin_id,
                            plugin_type=letter.plugin_type, time=time or datetime.now(timezone.utc))

    async def put(self, letters: list[DeadLetter]) -> None:
        """Return once every letter is durable; raises DeadLetterQueueUnavailable otherwise."""
        if not letters:
            return
        if self.queue is None:
            from logpipe.dlq.queue import DeadLetterQueueUnavailable

            raise DeadLetterQueueUnavailable("no dead-letter queue", retriable=False)
        await self.queue.write([self.record(letter) for letter in letters])
        self.written += len(letters)

    def ready(self) -> tuple[bool, str]:
        return self.queue.ready() if self.queue is not None else (True, "")


@dataclass
class _Held:
    value: Any
    close: Callable[[Any], Awaitable[None]]
    users: int = 0


class Resources:
    """Objects shared by the plugins of one process, by key, closed with their last user."""

    def __init__(self) -> None:
        self._held: dict[str, _Held] = {}
        self.log = logging.getLogger("logpipe.resources")

    def acquire(self, key: str, make: Callable[[], T], close: Callable[[T], Awaitable[None]]) -> T:
        held = self._held.get(key)
        if held is None:
            held = self._held[key] = _Held(make(), close)
        held.users += 1
        value: T = held.value
        return value

    async def release(self, key: str) -> None:
        held = self._held.get(key)
        if held is None:
            return
        held.users -= 1
        if held.users <= 0:
            del self._held[key]
            await held.close(held.value)

    def __contains__(self, key: str) -> bool:
        return key in self._held
