"""The pipeline's dead-letter queue, as the engine and plugins see it.

One small interface (:class:`DeadLetterQueue`) with three kinds behind it:
segment files in a directory (the default), a Kafka topic (with a local spill
file), or none. ``write`` returns once every record is durable, and raises
:class:`DeadLetterQueueUnavailable` when it cannot take them (full, not
writable, or there is no queue); the engine then holds the batch and tries
again, logging loudly, rather than losing the events.
"""
from __future__ import annotations

import logging
from typing import Protocol

from logpipe.dlq.config import PipelineDeadLetterQueue
from logpipe.dlq.record import DeadLetterRecord
from logpipe.errors import LogpipeError


class DeadLetterQueueUnavailable(LogpipeError):
    """The dead-letter queue cannot take records now (``retriable``) or ever (none set)."""

    def __init__(self, message: str, *, retriable: bool = True) -> None:
        super().__init__(message)
        self.retriable = retriable


class DeadLetterQueue(Protocol):
    #: Where records go, for log lines and ``logpipe dlq``.
    destination: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def write(self, records: list[DeadLetterRecord]) -> None: ...

    def ready(self) -> tuple[bool, str]: ...


class NoDeadLetterQueue:
    """``type: none``: nothing is kept, so a rejected event fails its batch for good."""

    destination = "none"

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def write(self, records: list[DeadLetterRecord]) -> None:
        if records:
            raise DeadLetterQueueUnavailable("no dead_letter_queue is set (type: none)",
                                             retriable=False)

    def ready(self) -> tuple[bool, str]:
        return True, ""


class KafkaDeadLetterQueue:
    """A Kafka topic, through :class:`~logpipe.dlq.writer.DeadLetterWriter`."""

    def __init__(self, settings: PipelineDeadLetterQueue, *, pipeline: str, data_dir: str,
                 worker: int | None, log: logging.Logger) -> None:
        from logpipe.dlq.writer import DeadLetterWriter

        assert settings.kafka is not None
        self.writer = DeadLetterWriter(settings.kafka, owner_id="pipeline", worker=worker,
                                       pipeline=pipeline, data_dir=data_dir, log=log)
        self.destination = f"kafka topic {settings.kafka.topic}"

    async def start(self) -> None:
        await self.writer.start()

    async def stop(self) -> None:
        await self.writer.stop()

    async def write(self, records: list[DeadLetterRecord]) -> None:
        try:
            await self.writer.write(records)
        except OSError as exc:
            raise DeadLetterQueueUnavailable(f"{self.destination}: {exc}") from exc

    def ready(self) -> tuple[bool, str]:
        return self.writer.ready()


def build(settings: PipelineDeadLetterQueue, *, pipeline: str, data_dir: str, directory: str | None,
          worker: int | None, log: logging.Logger) -> DeadLetterQueue:
    """The queue a pipeline's settings describe."""
    if settings.type == "none":
        return NoDeadLetterQueue()
    if settings.type == "kafka":
        return KafkaDeadLetterQueue(settings, pipeline=pipeline, data_dir=data_dir, worker=worker,
                                    log=log)
    from logpipe.dlq.directory import DirectoryDeadLetterQueue

    root = directory or f"{data_dir}/dead_letter_queue"
    return DirectoryDeadLetterQueue(f"{root}/{pipeline}", settings, worker=worker, log=log)
