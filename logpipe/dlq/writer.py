"""Writing dead-letter records: Kafka first, a local fsynced file when Kafka is away.

``DeadLetterWriter.write`` returns only when every record is either confirmed
by the brokers (``acks=all``, idempotent producer) or fsynced to the spill
file, so the caller may acknowledge the batch either way and nothing is lost.
A background task owned by the writer drains the spill file to Kafka when it
is reachable again (and at start, for what a previous run left behind).

Records may reach Kafka twice (a send that timed out but later succeeded, a
drain interrupted between send and progress update): the queue is
at-least-once, and records carry the document id as key to spot duplicates.

Any output can own a writer: it needs only a config and a name for its spill file.
"""
from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from typing import Any, Callable

from logpipe.dlq.config import DeadLetterQueueConfig
from logpipe.dlq.record import DeadLetterRecord, fit
from logpipe.dlq.spill import SpillFile
from logpipe.net.kafka_security import client_kwargs, describe

#: Below the brokers' default max.message.bytes (1 MiB plus overhead).
MAX_RECORD_BYTES = 1_000_000


def spill_path_for(config: DeadLetterQueueConfig, owner_id: str, worker: int | None = None, *,
                   pipeline: str = "main", data_dir: str = "data") -> str:
    """The spill file of one writer: under the data directory, keyed by pipeline and
    owner. Worker processes each get their own file (``-w<N>`` before the
    extension): a file is appended to and drained by one process only, which is
    what makes its rename-then-drain safe."""
    path = config.spill_path or f"{data_dir}/dlq-spill/{pipeline}/{owner_id}.jsonl"
    if worker is None:
        return path
    stem, dot, ext = path.rpartition(".")
    return f"{stem}-w{worker}.{ext}" if dot and "/" not in ext else f"{path}-w{worker}"


def destination_of(config: DeadLetterQueueConfig) -> str:
    """What a spill file records as its destination: the topic. (Not the brokers: the same
    cluster may be reached by other addresses after a move.)"""
    return f"kafka topic {config.topic}"


def make_producer(config: DeadLetterQueueConfig) -> Any:
    """An idempotent producer that waits for every in-sync replica."""
    from aiokafka import AIOKafkaProducer

    return AIOKafkaProducer(
        bootstrap_servers=config.servers(), client_id=config.client_id, acks="all",
        enable_idempotence=True, linger_ms=5, request_timeout_ms=int(config.send_timeout * 1000),
        max_request_size=MAX_RECORD_BYTES + 64 * 1024, **client_kwargs(config))


@dataclass
class WriterCounters:
    sent: int = 0
    spilled: int = 0
    drained: int = 0


class DeadLetterWriter:
    def __init__(self, config: DeadLetterQueueConfig, *, owner_id: str, worker: int | None = None,
                 pipeline: str = "main", data_dir: str = "data", log: logging.Logger | None = None,
                 producer_factory: Callable[[DeadLetterQueueConfig], Any] = make_producer) -> None:
        self.config = config
        self.topic = config.topic
        self.spill = SpillFile(spill_path_for(config, owner_id, worker, pipeline=pipeline,
                                              data_dir=data_dir), destination_of(config))
        self.log = log or logging.getLogger(f"logpipe.dlq.{owner_id}")
        self.counters = WriterCounters()
        self._factory = producer_factory
        self._producer: Any = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        #: False after Kafka failed to confirm; writes then go straight to the spill file
        #: (not waiting send_timeout each time) until a drain proves Kafka is back.
        self._healthy = True

    def ready(self) -> tuple[bool, str]:
        """Writable means: Kafka confirms, or the spill file takes records."""
        if self._producer is not None and self._healthy:
            return True, ""
        try:
            self.spill.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return False, f"dead-letter queue: Kafka unreachable and spill directory unusable: {exc}"
        if not os.access(self.spill.path.parent, os.W_OK):
            return False, f"dead-letter queue: Kafka unreachable and {self.spill.path.parent} not writable"
        return True, ""

    # --- lifecycle -----------------------------------------------------------------
    async def start(self) -> None:
        """Connect if Kafka is there (not being there is not an error) and start draining."""
        self._stopping.clear()
        foreign = self.spill.foreign()
        if foreign is not None:
            self.log.error("dead-letter spill file %s holds records for %s, not for %s; it is "
                           "left alone (move it away or replay it to its own destination)",
                           self.spill.path, foreign, destination_of(self.config))
        await self._connect()
        self._task = asyncio.create_task(self._drain_loop(), name=f"dlq-drain-{self.topic}")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._producer is not None:
            if self.spill.pending():
                try:
                    await self.drain()
                except Exception as exc:
                    self.log.warning("dead-letter spill file %s kept for next start: %s",
                                     self.spill.path, _describe(exc))
            producer, self._producer = self._producer, None
            try:
                await asyncio.wait_for(producer.stop(), self.config.send_timeout)
            except Exception as exc:
                self.log.warning("dead-letter producer did not close cleanly: %s", _describe(exc))

    async def _connect(self) -> bool:
        if self._producer is not None:
            return True
        producer = self._factory(self.config)
        try:
            await asyncio.wait_for(producer.start(), self.config.send_timeout)
        except Exception as exc:
            self.log.warning("dead-letter queue: Kafka %s (%s) unreachable: %s; rejected events go "
                             "to %s until it is back", ",".join(self.config.servers()),
                             describe(self.config), _describe(exc), self.spill.path)
            try:
                await asyncio.wait_for(producer.stop(), 5)
            except Exception:
                pass
            return False
        self._producer = producer
        return True

    # --- writing -------------------------------------------------------------------
    async def _send(self, records: list[DeadLetterRecord]) -> None:
        producer = self._producer
        if producer is None:
            raise ConnectionError("no connection to Kafka")

        async def send_all() -> None:
            futures = [await producer.send(self.topic, r.value, key=r.key, headers=list(r.headers))
                       for r in records]
            await asyncio.gather(*futures)

        await asyncio.wait_for(send_all(), self.config.send_timeout)

    async def write(self, records: list[DeadLetterRecord]) -> None:
        """Return once every record is in Kafka or on disk; raises only if neither worked."""
        if not records:
            return
        records = [fit(r, MAX_RECORD_BYTES) for r in records]
        if self._producer is not None and self._healthy:
            try:
                await self._send(records)
                self.counters.sent += len(records)
                return
            except Exception as exc:
                self._healthy = False
                self.log.warning("dead-letter queue: Kafka did not confirm %d records in %.0fs "
                                 "(%s; does topic %s exist? brokers may not create topics by "
                                 "themselves); spilling to %s until it does", len(records),
                                 self.config.send_timeout, _describe(exc), self.topic,
                                 self.spill.path)
        await self.spill.append([r.value for r in records])
        self.counters.spilled += len(records)

    # --- draining ------------------------------------------------------------------
    async def drain(self) -> int:
        """Move everything spilled to Kafka; returns how many records were sent."""
        sent = 0
        while await self.spill.take() is not None:
            for done, lines in self.spill.read():
                await self._send([fit(DeadLetterRecord.from_value(v), MAX_RECORD_BYTES) for v in lines])
                self.spill.confirm(done)
                sent += len(lines)
                self.counters.drained += len(lines)
            self.spill.finish()
        self._healthy = True
        if sent:
            self.log.info("dead-letter queue: drained %d spilled records to %s", sent, self.topic)
        return sent

    async def _drain_loop(self) -> None:
        # Nothing may end this loop but stop(): whatever one round raises is logged and
        # the next round tries again, or spilled records would wait for a restart.
        while not self._stopping.is_set():
            try:
                if self.spill.pending() and await self._connect():
                    await self.drain()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.log.warning("dead-letter queue: draining %s failed: %s; will retry",
                                 self.spill.path, _describe(exc))
            try:
                await asyncio.wait_for(self._stopping.wait(), self.config.drain_interval)
            except TimeoutError:
                pass


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
