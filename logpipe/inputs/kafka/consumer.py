"""``kafka`` input: a consumer-group member that commits only what was delivered.

Flow: ``getmany`` returns records per partition; each partition's records become
one batch (token ``(partition, last offset)``), tracked by
:class:`~logpipe.inputs.kafka.offsets.OffsetTracker`. A background task commits
the delivered prefix of every partition each ``commit_interval_ms``; shutdown
and rebalances commit too. Auto-commit is off: an offset is committed only
after every output has the events before it, so a crash re-reads what was not
delivered (at-least-once; the Elasticsearch output's ids from
topic/partition/offset make the replay idempotent).

Backpressure: when the pipeline queue is full, every assigned partition is
paused and records already fetched wait here (at most one fetch, bounded by
``fetch_max_bytes``). Polling continues while paused, which keeps the group
membership alive without fetching anything. Partitions resume once the queue
has room.

A failed batch (an output gave up) makes its partition seek back to the failed
offset and re-read after a backoff. A revoked partition's in-flight batches
get a bounded wait to settle, delivered offsets are committed, then the
partition is forgotten: late acknowledgements for it are ignored and its
unacknowledged events go to its new owner.

Broker restarts are handled by the client, which reconnects on its own; a
failure it cannot recover from ends ``run`` after a best-effort commit, and the
engine restarts the input with a backoff.
"""
from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError

from logpipe.core.batch import Batch
from logpipe.core.event import Event
from logpipe.core.plugin import Input, InputContext
from logpipe.inputs.kafka.config import KafkaInputConfig
from logpipe.inputs.kafka.offsets import OffsetTracker
from logpipe.codecs.messages import batch_decoder
from logpipe.inputs.kafka.records import to_events
from logpipe.net.kafka_security import client_kwargs, describe

LAG_METRIC = "kafka_consumer_lag"
MAX_REDELIVERY_BACKOFF = 30.0
#: While blocked on a full queue, how often to poll (with everything paused) to stay in the group.
KEEPALIVE_SECONDS = 0.5


class _Fetched:
    """One partition's records from one poll, decoded, not yet submitted."""

    __slots__ = ("tp", "generation", "events", "size", "first", "last")

    def __init__(self, tp: TopicPartition, generation: int, events: list[Event], size: int,
                 first: int, last: int) -> None:
        self.tp = tp
        self.generation = generation
        self.events = events
        self.size = size
        self.first = first
        self.last = last


class _Listener(ConsumerRebalanceListener):
    def __init__(self, owner: KafkaInput) -> None:
        self._owner = owner

    async def on_partitions_revoked(self, revoked: Any) -> None:
        await self._owner._on_revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: Any) -> None:
        self._owner._on_assigned(set(assigned))


class KafkaInput(Input):
    Config = KafkaInputConfig
    config: KafkaInputConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._consumer: AIOKafkaConsumer | None = None
        self._tracker: OffsetTracker[TopicPartition] = OffsetTracker()
        self._pending: deque[_Fetched] = deque()
        #: Next offset this consumer will read, per partition (for lag).
        self._positions: dict[TopicPartition, int] = {}
        self._lag_published: set[TopicPartition] = set()
        #: Partitions held back after a failure: (resume at, current backoff, failed offset).
        self._hold: dict[TopicPartition, tuple[float, float, int]] = {}
        self._commit_task: asyncio.Task[None] | None = None
        self._commit_lock = asyncio.Lock()
        self._make = batch_decoder(self.config.codec)

    # --- what observability and tests read --------------------------------------------
    def lag(self) -> dict[TopicPartition, int]:
        """Records behind the end of each assigned partition (highwater - position)."""
        consumer = self._consumer
        if consumer is None:
            return {}
        out: dict[TopicPartition, int] = {}
        for tp in consumer.assignment():
            hw = consumer.highwater(tp)
            pos = self._positions.get(tp)
            if hw is not None and pos is not None:
                out[tp] = max(0, hw - pos)
        return out

    def assignment(self) -> set[TopicPartition]:
        """Partitions this member owns now (empty before joining the group)."""
        return set(self._consumer.assignment()) if self._consumer is not None else set()

    @property
    def paused_partitions(self) -> set[TopicPartition]:
        return set(self._consumer.paused()) if self._consumer is not None else set()

    @property
    def held_events(self) -> int:
        """Events this input holds: fetched but not submitted, plus submitted but not released."""
        return sum(len(f.events) for f in self._pending) + self._tracker.outstanding()

    # --- lifecycle ----------------------------------------------------------------------
    async def _open(self) -> AIOKafkaConsumer:
        cfg = self.config
        consumer = AIOKafkaConsumer(
            bootstrap_servers=cfg.bootstrap_servers,
            client_id=cfg.client_id,
            group_id=cfg.group_id,
            enable_auto_commit=False,
            auto_offset_reset=cfg.auto_offset_reset,
            max_poll_records=cfg.max_poll_records,
            fetch_max_bytes=cfg.fetch_max_bytes,
            max_partition_fetch_bytes=cfg.max_partition_fetch_bytes,
            fetch_max_wait_ms=cfg.fetch_max_wait_ms,
            fetch_min_bytes=cfg.fetch_min_bytes,
            session_timeout_ms=cfg.session_timeout_ms,
            heartbeat_interval_ms=cfg.heartbeat_interval_ms,
            max_poll_interval_ms=cfg.max_poll_interval_ms,
            request_timeout_ms=cfg.request_timeout_ms,
            **client_kwargs(cfg),
        )
        listener = _Listener(self)
        if cfg.topics:
            consumer.subscribe(topics=cfg.topics, listener=listener)
        else:
            consumer.subscribe(pattern=cfg.topics_pattern, listener=listener)
        try:
            await consumer.start()
        except BaseException:
            await consumer.stop()
            raise
        self.log.info("consuming %s as group %s from %s (%s)",
                      cfg.topics or f"/{cfg.topics_pattern}/", cfg.group_id, cfg.bootstrap_servers,
                      describe(cfg))
        return consumer

    async def run(self, ctx: InputContext) -> None:
        # Joining can take long (brokers down, topic missing): a shutdown must not wait for it.
        opening = asyncio.ensure_future(self._open())
        stopping = asyncio.ensure_future(ctx.stopping.wait())
        try:
            await asyncio.wait([opening, stopping], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            if not opening.done():
                opening.cancel()
                await asyncio.gather(opening, return_exceptions=True)
        if opening.cancelled():
            return
        consumer = opening.result()
        self._consumer = consumer
        self._tracker = OffsetTracker()
        self._pending.clear()
        self._commit_task = asyncio.create_task(self._commit_loop(consumer), name=f"{self.id}-commit")
        try:
            await self._consume(ctx, consumer)
        except asyncio.CancelledError:
            raise
        except Exception:
            # Commit what is delivered and let the engine restart us with a fresh consumer.
            await self._close()
            raise
        # On a normal stop the consumer stays open: workers are still draining, and
        # stop() commits their offsets once they are done.

    async def stop(self) -> None:
        await self._close()

    async def _close(self) -> None:
        task, self._commit_task = self._commit_task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        consumer, self._consumer = self._consumer, None
        if consumer is None:
            return
        try:
            await self._commit(consumer)
        finally:
            await consumer.stop()
            self._pending.clear()

    # --- the poll loop ------------------------------------------------------------------
    async def _consume(self, ctx: InputContext, consumer: AIOKafkaConsumer) -> None:
        cfg = self.config
        stopping = ctx.stopping
        while not stopping.is_set():
            self._rewind_failed(consumer)
            if self._pending and not await self._submit_pending(ctx, consumer):
                continue
            full = ctx.pipeline_full
            self._apply_pause(consumer, full)
            records = await consumer.getmany(timeout_ms=cfg.poll_timeout_ms,
                                             max_records=cfg.max_poll_records)
            if records:
                self._take(records)

    def _take(self, records: dict[TopicPartition, list[Any]]) -> None:
        tracker = self._tracker
        for tp, msgs in records.items():
            if not msgs:
                continue
            events, size = to_events(msgs, self._make)
            first, last = msgs[0].offset, msgs[-1].offset
            self._pending.append(_Fetched(tp, tracker.generation(tp), events, size, first, last))
            self._positions[tp] = last + 1

    def _current(self, item: _Fetched, consumer: AIOKafkaConsumer) -> bool:
        """False when the partition was rewound or revoked since these records were fetched."""
        return (item.generation == self._tracker.generation(item.tp)
                and item.tp in consumer.assignment())

    async def _submit_pending(self, ctx: InputContext, consumer: AIOKafkaConsumer) -> bool:
        """Submit fetched records in order; False when stopping before all went in."""
        pending = self._pending
        while pending:
            item = pending[0]
            if not self._current(item, consumer):
                pending.popleft()
                continue
            token = (item.tp, item.last)
            batch = ctx.try_submit(item.events, size=item.size, token=token)
            if batch is None:
                self._apply_pause(consumer, True)
                batch = await self._submit_waiting(ctx, consumer, item)
                if batch is None:
                    return False
            if pending and pending[0] is item:
                pending.popleft()
            if self._current(item, consumer):
                self._tracker.add(item.tp, batch, item.first, item.last)
            # else: submitted for a partition we lost meanwhile; its ack is ignored and
            # the records are read again by whoever owns the partition now.
        return True

    async def _submit_waiting(self, ctx: InputContext, consumer: AIOKafkaConsumer,
                              item: _Fetched) -> Batch | None:
        """Wait for queue space, polling (all paused) so the group keeps us as a member."""
        task = asyncio.ensure_future(ctx.submit(item.events, size=item.size, token=(item.tp, item.last)))
        try:
            while not task.done() and not ctx.stopping.is_set():
                await asyncio.wait([task], timeout=KEEPALIVE_SECONDS)
                if not task.done():
                    self._apply_pause(consumer, True)
                    self._take(await consumer.getmany(timeout_ms=0))
        except BaseException:
            task.cancel()
            raise
        if not task.done():
            task.cancel()
            await asyncio.wait([task])
        if task.cancelled():
            return None
        return task.result()

    def _apply_pause(self, consumer: AIOKafkaConsumer, blocked: bool) -> None:
        """Pause everything when blocked; otherwise only partitions held after a failure."""
        assigned = consumer.assignment()
        if not assigned:
            return
        if blocked:
            want = set(assigned)
        else:
            now = asyncio.get_running_loop().time()
            hold = self._hold
            want = {tp for tp in assigned if tp in hold and hold[tp][0] > now}
        paused = consumer.paused()
        if want == paused:
            return
        to_pause = want - paused
        to_resume = paused - want
        if to_pause:
            consumer.pause(*to_pause)
        if to_resume:
            consumer.resume(*to_resume)
        if self.log.isEnabledFor(logging.DEBUG):
            self.log.debug("paused %d, resumed %d partitions (pipeline %s)", len(to_pause),
                           len(to_resume), "full" if blocked else "has room")

    def _rewind_failed(self, consumer: AIOKafkaConsumer) -> None:
        failed = self._tracker.take_failed()
        if not failed:
            return
        assigned = consumer.assignment()
        now = asyncio.get_running_loop().time()
        first_backoff = self.config.redelivery_backoff_ms / 1000
        for tp, offset in failed.items():
            if tp not in assigned:
                continue
            consumer.seek(tp, offset)
            self._positions[tp] = offset
            previous = self._hold.get(tp)
            backoff = min(previous[1] * 2, MAX_REDELIVERY_BACKOFF) if previous else first_backoff
            self._hold[tp] = (now + backoff, backoff, offset)
            self.log.warning("batch from %s-%d at offset %d was not delivered; re-reading from there "
                             "in %.1fs", tp.topic, tp.partition, offset, backoff)

    # --- commits ------------------------------------------------------------------------
    async def _commit_loop(self, consumer: AIOKafkaConsumer) -> None:
        interval = self.config.commit_interval_ms / 1000
        while True:
            await asyncio.sleep(interval)
            try:
                await self._commit(consumer)
                await self._refresh_positions(consumer)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.log.warning("periodic offset commit failed: %s", exc)
            self._publish_lag()
            if self.log.isEnabledFor(logging.DEBUG):
                lag = {f"{tp.topic}-{tp.partition}": n for tp, n in sorted(self.lag().items())}
                self.log.debug("consumer lag %s", lag)

    def _publish_lag(self) -> None:
        """Lag per owned partition as a gauge; partitions given away lose theirs, so the
        cluster's figure for a partition comes from its present owner only."""
        registry = self.context.metrics
        lag = self.lag()
        for tp, n in lag.items():
            registry.gauge(LAG_METRIC, self._lag_labels(tp), merge="max",
                           help="Records between the consumer's position and the end of the "
                                "partition.").set(n)
        for tp in self._lag_published - set(lag):
            registry.remove(LAG_METRIC, self._lag_labels(tp))
        self._lag_published = set(lag)

    def _lag_labels(self, tp: TopicPartition) -> dict[str, Any]:
        return {"id": self.id, "topic": tp.topic, "partition": tp.partition}

    async def _commit(self, consumer: AIOKafkaConsumer, only: set[TopicPartition] | None = None) -> bool:
        """Commit delivered prefixes of assigned partitions; False when Kafka refused."""
        async with self._commit_lock:
            assigned = consumer.assignment()
            offsets = {tp: off for tp, off in self._tracker.committable().items()
                       if tp in assigned and (only is None or tp in only)}
            if not offsets:
                return True
            try:
                await asyncio.wait_for(consumer.commit(offsets), self.config.request_timeout_ms / 1000)
            except CommitFailedError:
                self.log.warning("offset commit refused: the group rebalanced, so %d partitions may be "
                                 "read again by their new owner", len(offsets))
                return False
            except (KafkaError, TimeoutError) as exc:
                self.log.warning("offset commit failed, will retry: %s", str(exc) or type(exc).__name__)
                return False
            self._tracker.mark_committed(offsets)
            for tp, off in offsets.items():
                held = self._hold.get(tp)
                if held is not None and off > held[2]:
                    del self._hold[tp]  # the re-read went through: reset the backoff
            if self.log.isEnabledFor(logging.DEBUG):
                self.log.debug("committed %s", {f"{tp.topic}-{tp.partition}": o for tp, o in offsets.items()})
            return True

    async def _refresh_positions(self, consumer: AIOKafkaConsumer) -> None:
        """Learn positions of partitions nothing was read from yet, so lag() covers them."""
        for tp in consumer.assignment():
            if tp not in self._positions:
                try:
                    self._positions[tp] = await asyncio.wait_for(consumer.position(tp), 1.0)
                except (KafkaError, TimeoutError):
                    pass

    # --- rebalances -----------------------------------------------------------------------
    async def _on_revoked(self, revoked: set[TopicPartition]) -> None:
        consumer = self._consumer
        if not revoked or consumer is None:
            return
        cfg = self.config
        batches = self._tracker.unsettled(revoked)
        wait = min(cfg.rebalance_wait_ms, cfg.session_timeout_ms // 2) / 1000
        if batches and wait > 0:
            waiters = [asyncio.ensure_future(b.wait()) for b in batches]
            _, late = await asyncio.wait(waiters, timeout=wait)
            for w in late:
                w.cancel()
            if late:
                self.log.info("%d batches of revoked partitions still in flight after %.1fs; their "
                              "events will be read again by the partitions' new owner", len(late), wait)
        try:
            await self._commit(consumer, only=revoked)
        finally:
            self._tracker.forget(revoked)
            for tp in revoked:
                self._positions.pop(tp, None)
                self._hold.pop(tp, None)
        self.log.info("partitions revoked: %s", _names(revoked))

    def _on_assigned(self, assigned: set[TopicPartition]) -> None:
        self.log.info("partitions assigned: %s", _names(assigned))


def _names(tps: set[TopicPartition]) -> str:
    return ", ".join(f"{tp.topic}-{tp.partition}" for tp in sorted(tps)) or "none"
