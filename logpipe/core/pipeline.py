"""The pipeline engine: inputs -> bounded queue -> workers (filters, outputs) -> acks.

A worker takes up to ``batch_size`` events' worth of input batches, runs the
filter stages in order (on the event loop, giving it back between stages, or
in a thread of their own: :mod:`logpipe.core.filter_runner`), hands the result to every
output concurrently, and combines what each output says about each event
(:mod:`logpipe.core.outcome`). Only then are the input batches settled:
delivered when every event was delivered or went to the pipeline's dead-letter
queue; not delivered (retriable) when an output wants an event sent again; not
delivered for good when events were rejected and no dead-letter queue took them.
Inputs turn that outcome into their own protocol's acknowledgement. When the
queue is full, ``submit`` waits, and the wait propagates to the sender: that is
the backpressure. A dead-letter queue that cannot take records is backpressure
too: the worker holds the batch, logs, and tries again.
"""
from __future__ import annotations

import asyncio
import logging
from time import perf_counter
from pathlib import Path
from typing import Any, Awaitable, Callable, cast

from logpipe.config.loader import (
    ConditionalEntry,
    FilterItem,
    PipelineSpec,
    PluginEntry,
)
from logpipe.core.batch import Batch, DoneCallback, flatten
from logpipe.core.bus import PipelineBus
from logpipe.core.decorate import decorator_for
from logpipe.core.event import Event
from logpipe.core.filter_runner import FilterRunner, mode_of
from logpipe.core.metrics import PipelineStats
from logpipe.core.plugin import (
    Filter,
    Input,
    InputContext,
    Output,
    Plugin,
    PluginContext,
)
from logpipe.core.queue import BoundedQueue
from logpipe.core.sharing import plan_sharing
from logpipe.core.stages import (
    ConditionalStage,
    FilterStage,
    OutputStage,
    describe_exception,
    filter_plugins,
)
from logpipe.core.outcome import Combined, Rejection
from logpipe.core.packed import LineRoute, PackedLines, line_route
from logpipe.core.services import DeadLetter, DeadLetters, Resources
from logpipe.core.telemetry import MetricsRegistry

log = logging.getLogger("logpipe.engine")


def build_filter_stages(items: list[FilterItem], build: Callable[[PluginEntry], Plugin],
                        stats: PipelineStats, *, ordered: bool) -> list[FilterStage | ConditionalStage]:
    """The filter stage tree: a FilterStage per plugin, a ConditionalStage per block."""
    stages: list[FilterStage | ConditionalStage] = []
    for item in items:
        if isinstance(item, ConditionalEntry):
            branches = [(pred, build_filter_stages(body, build, stats, ordered=ordered))
                        for _cond, pred, body in item.branches]
            stages.append(ConditionalStage(
                branches, build_filter_stages(item.otherwise, build, stats, ordered=ordered),
                ordered=ordered))
        else:
            stages.append(FilterStage(cast(Filter, build(item)), item.predicate,
                                      stats.plugin("filter", item.type, item.id), ordered=ordered))
    return stages


class Pipeline:
    def __init__(self, spec: PipelineSpec, *, worker_index: int = 0, worker_count: int = 1,
                 metrics: MetricsRegistry | None = None, resources: Resources | None = None,
                 bus: PipelineBus | None = None) -> None:
        from logpipe.dlq.queue import build as build_dead_letter_queue

        self.spec = spec
        self.settings = spec.settings
        self.stats = PipelineStats()
        self.queue = BoundedQueue(self.settings.queue_max_events, self.settings.queue_max_bytes)
        dlq_settings = self.settings.dead_letter_queue
        self.dead_letter_queue = build_dead_letter_queue(
            dlq_settings, pipeline=spec.name, data_dir=self.settings.path_data,
            directory=self.settings.path_dead_letter_queue,
            worker=worker_index if worker_count > 1 else None, log=logging.getLogger("logpipe.dlq"))
        self.dead_letters = DeadLetters(self.dead_letter_queue, pipeline=spec.name,
                                        scrub=dlq_settings.scrub)
        self.context = PluginContext(pipeline=spec.name, worker_index=worker_index,
                                     worker_count=worker_count, settings=self.settings,
                                     metrics=metrics if metrics is not None else MetricsRegistry(),
                                     dead_letters=self.dead_letters,
                                     data_dir=Path(self.settings.path_data),
                                     resources=resources if resources is not None else Resources(),
                                     pipelines=bus if bus is not None else PipelineBus(),
                                     filter_configs=tuple(e.config for e in spec.filter_entries()))
        self.inputs: list[Input] = [self._build(e) for e in spec.inputs]  # type: ignore[misc]
        self.ordered = self.settings.is_ordered
        self.filter_stages: list[FilterStage | ConditionalStage] = self._stages(spec.filters)
        self.output_stages = [OutputStage(self._build(e), e.predicate,  # type: ignore[arg-type]
                                          self.stats.plugin("output", e.type, e.id)) for e in spec.outputs]
        # Which enrichment filters may hand the same object to many events: those that
        # nothing after them (filters, any branch; outputs) may change in place.
        plan_sharing(self.filters, self.outputs, self.context.frozen)
        # The pipeline's own scrub settings scrub what leaves it by other ways (dead letters).
        scrubber = next((getattr(f, "scrubber") for f in self.filters if hasattr(f, "scrubber")), None)
        self.context.scrubber = self.dead_letters.scrubber = scrubber
        self.filter_runner = FilterRunner(self.filter_stages, mode_of(self.settings.filter_thread),
                                          name=spec.name)
        self.stopping = asyncio.Event()
        self._input_tasks: list[asyncio.Task[None]] = []
        self._worker_tasks: list[asyncio.Task[None]] = []
        self._started: list[Plugin] = []
        self.events_submitted = 0
        self.events_settled = 0
        self._all_settled = asyncio.Event()
        self._all_settled.set()
        #: The native route for packed line batches (logpipe.core.packed), chosen at start.
        self.line_route: LineRoute | None = None

    def _build(self, entry: PluginEntry) -> Plugin:
        return entry.cls(entry.config, id=entry.id, context=self.context)

    def _stages(self, items: list[FilterItem]) -> list[FilterStage | ConditionalStage]:
        return build_filter_stages(items, self._build, self.stats, ordered=self.ordered)

    @property
    def filters(self) -> list[Filter]:
        """Every filter plugin, those inside conditionals included, in file order."""
        return filter_plugins(self.filter_stages)

    @property
    def outputs(self) -> list[Output]:
        return [s.plugin for s in self.output_stages]

    # --- submission (called by inputs through InputContext) ------------------------
    def _accepted(self, batch: Batch) -> None:
        self.stats.plugin("input", "", batch.input_id).events_out += len(batch.events)
        self.events_submitted += len(batch.events)
        self._all_settled.clear()

    def _context_for(self, plugin: Input) -> InputContext:
        input_id = plugin.id
        entry = next((e for e in self.spec.inputs if e.id == input_id), None)
        decorate = decorator_for(entry.decoration if entry is not None else None)

        # Events are decorated once they are in the queue (before any worker can take
        # them: nothing yields in between), so a refused offer offered again is not
        # decorated twice (add_field would turn a value into a list).
        def accepted(batch: Batch) -> Batch:
            if decorate is not None:
                decorate(batch.events)
            self._accepted(batch)
            return batch

        async def submit(events: list[Event], *, size: int = 0, on_done: DoneCallback | None = None,
                         token: Any = None) -> Batch:
            batch = Batch(events, size=size, input_id=input_id, on_done=on_done, token=token)
            await self.queue.put(batch)
            return accepted(batch)

        def try_submit(events: list[Event], *, size: int = 0, on_done: DoneCallback | None = None,
                       token: Any = None) -> Batch | None:
            batch = Batch(events, size=size, input_id=input_id, on_done=on_done, token=token)
            if not self.queue.try_put(batch):
                return None
            return accepted(batch)

        async def submit_within(events: list[Event], wait: float, *, size: int = 0,
                                on_done: DoneCallback | None = None, token: Any = None) -> Batch | None:
            batch = Batch(events, size=size, input_id=input_id, on_done=on_done, token=token)
            if not await self.queue.put(batch, timeout=wait):
                return None
            return accepted(batch)

        return InputContext(submit, try_submit, self.stopping, lambda: self.queue.full, submit_within,
                            packs_lines=self.line_route is not None and decorate is None)

    def _settle(self, batches: list[Batch], ok: bool, reason: str | None, *, retriable: bool = True,
                rejected: list[str] | None = None,
                dead_lettered: dict[int, int] | None = None) -> None:
        count = 0
        for n, batch in enumerate(batches):
            count += len(batch.events)
            batch.complete(ok, reason, retriable=retriable, rejected=rejected,
                           dead_lettered=dead_lettered.get(n, 0) if dead_lettered else 0)
        self.events_settled += count
        if ok:
            self.stats.events_acked += count
        else:
            self.stats.events_failed += count
        if self.events_settled >= self.events_submitted:
            self._all_settled.set()

    # --- outputs and dead letters ------------------------------------------------------
    async def _deliver(self, events: list[Event]) -> Combined:
        """Every output's outcome for every event, combined."""
        outputs = self.output_stages
        combined = Combined()
        if len(outputs) == 1:
            stage = outputs[0]
            combined.add(await stage.send(events), None, stage.plugin.id, stage.plugin.plugin_name)
        elif outputs:
            deliveries = await asyncio.gather(*(o.send(events) for o in outputs))
            for stage, delivery in zip(outputs, deliveries):
                combined.add(delivery, None, stage.plugin.id, stage.plugin.plugin_name)
        return combined

    async def _dead_letter(self, events: list[Event], rejected: list[Rejection]) -> list[str]:
        """Put rejected events into the dead-letter queue; returns the reasons of those no
        queue took (only with ``type: none``). A queue that is full or cannot be written
        holds the batch: logged loudly, tried again with backoff, never dropped."""
        from logpipe.dlq.queue import DeadLetterQueueUnavailable

        letters = [DeadLetter(events[r.position], r.plugin_id, r.plugin_type, r.reason,
                              r.details or None) for r in rejected]
        delay = 0.5
        while True:
            try:
                await self.dead_letters.put(letters)
            except DeadLetterQueueUnavailable as exc:
                if not exc.retriable:
                    return [f"{r.plugin_id}: {r.reason}" for r in rejected]
                log.error("dead-letter queue (%s) cannot take %d rejected events: %s; holding "
                          "their batch and trying again in %.1fs", self.dead_letters.destination,
                          len(letters), exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            break
        self.stats.events_dead_lettered += len(letters)
        counters = self.context.metrics
        for r in rejected:
            counters.counter("dlq_events_total", {"id": r.plugin_id, "reason": _reason_type(r.reason)},
                             help="Events written to the dead-letter queue.").inc()
        log.warning("%d rejected events went to the dead-letter queue (%s); first: %s: %s",
                    len(letters), self.dead_letters.destination, rejected[0].plugin_id,
                    rejected[0].reason)
        return []

    async def _run_packed(self, route: LineRoute, batches: list[Batch]) -> bool:
        """A batch of packed lines through the native route (logpipe.core.packed), with
        the counters the event path keeps; False when it must take the event path."""
        packs = [cast(PackedLines, b.events) for b in batches]
        count = sum(p.lines for p in packs)
        try:
            started = perf_counter()
            made = await self.filter_runner.call(route.run, packs)
            if made is None:
                return False
            bodies, _matched, failed = made
            stage = route.filter_stage
            if stage is not None:
                stage.stats.events_in += count
                stage.stats.events_out += count
                stage.stats.seconds += perf_counter() - started
                stage.plugin.packed_done(failed)
            delivery = await route.output_stage.send_packed(bodies, count)
        except asyncio.CancelledError:
            self._settle(batches, False, "shutdown")
            raise
        if delivery.rejected:
            # Refused for good: the event path sends the batch again and dead-letters
            # what the output refuses, as the events the filters made.
            return False
        if delivery.retry:
            reason = next(iter(delivery.retry.values()))
            log.error("batch of %d events not delivered (%d to retry): %s", count, len(delivery.retry), reason)
            self._settle(batches, False, reason)
            return True
        self._settle(batches, True, None)
        return True

    async def _run_filters(self, events: list[Event]) -> list[Event]:
        return await self.filter_runner.run(events)

    async def ready(self) -> tuple[bool, str]:
        """Whether this pipeline can deliver: every output that can tell says so, and the
        dead-letter queue can be written."""
        ok, reason = self.dead_letters.ready()
        if not ok:
            return False, reason
        for output in self.outputs:
            try:
                if not await asyncio.wait_for(output.ready(), 5.0):
                    return False, f"output {output.id} cannot deliver"
            except Exception as exc:
                return False, f"output {output.id}: {describe_exception(exc)}"
        return True, ""

    # --- workers -------------------------------------------------------------------
    async def _worker(self) -> None:
        queue = self.queue
        size = self.settings.batch_size
        delay = self.settings.batch_delay_ms / 1000.0
        while True:
            batches = await queue.get_many(size, delay)
            if not batches:
                return
            self.stats.batches += 1
            route = self.line_route
            if route is not None and all(type(b.events) is PackedLines and not b.events.unpacked
                                         for b in batches):
                if await self._run_packed(route, batches):
                    continue
            events = flatten(batches)
            try:
                events = await self._run_filters(events)
                combined = await self._deliver(events)
                if combined.needs_retry:
                    reason = combined.first_retry_reason()
                    log.error("batch of %d events not delivered (%d to retry): %s", len(events),
                              len(combined.retry), reason)
                    self._settle(batches, False, reason)
                    continue
                refused: list[str] = []
                if combined.rejected:
                    refused = await self._dead_letter(events, combined.rejected)
            except asyncio.CancelledError:
                self._settle(batches, False, "shutdown")
                raise
            except Exception as exc:
                reason = describe_exception(exc)
                log.error("batch of %d events not delivered: %s", len(events), reason)
                self._settle(batches, False, reason)
                continue
            if refused:
                log.error("%d events rejected and no dead-letter queue takes them: %s",
                          len(refused), refused[0])
                self._settle(batches, False, refused[0], retriable=False, rejected=refused)
                continue
            self._settle(batches, True, None,
                         dead_lettered=_owners(batches, events, combined.rejected)
                         if combined.rejected else None)

    async def _run_input(self, plugin: Input) -> None:
        ctx = self._context_for(plugin)
        backoff = 0.5
        while True:
            try:
                await plugin.run(ctx)
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                if not plugin.endless or self.stopping.is_set():
                    log.exception("input %s failed", plugin.id)
                    return
                log.exception("input %s failed; restarting in %.1fs", plugin.id, backoff)
                try:
                    await asyncio.wait_for(self.stopping.wait(), backoff)
                    return
                except TimeoutError:
                    backoff = min(backoff * 2, 30.0)

    # --- lifecycle -----------------------------------------------------------------
    async def start(self) -> None:
        """Start the dead-letter queue, outputs, then filters, then workers, then inputs."""
        await self.dead_letter_queue.start()
        for plugin in [*self.outputs, *self.filters]:
            await plugin.start()
            self._started.append(plugin)
        self.line_route, why = (line_route(self.filter_stages, self.output_stages)
                                if self.settings.native_route else (None, "native_route is false"))
        if self.line_route is not None:
            log.info("pipeline %s: lines go through the native route (parsed and written "
                     "as JSON lines without a Python object per line)", self.spec.name)
        else:
            log.debug("pipeline %s: no native route: %s", self.spec.name, why)
        for n in range(self.settings.pipeline_workers):
            self._worker_tasks.append(asyncio.create_task(self._worker(), name=f"worker-{n}"))
        for plugin in self.inputs:
            await plugin.start()
            self._started.append(plugin)
        for plugin in self.inputs:
            self._input_tasks.append(asyncio.create_task(self._run_input(plugin), name=f"input-{plugin.id}"))

    @property
    def finite(self) -> bool:
        return bool(self.inputs) and not any(i.endless for i in self.inputs)

    async def inputs_done(self) -> None:
        if self._input_tasks:
            await asyncio.gather(*self._input_tasks, return_exceptions=True)

    async def run(self, stop: asyncio.Event | None = None) -> bool:
        """Run until stopped (or until finite inputs end); True when all was acknowledged."""
        stop = stop or asyncio.Event()
        await self.start()
        await until_stopped(stop, self.inputs_done() if self.finite else None)
        clean = await self.shutdown(self.settings.shutdown_timeout)
        if self.finite and self.stats.events_failed:
            log.error("%d events could not be delivered", self.stats.events_failed)
            return False
        return clean

    async def shutdown(self, timeout: float) -> bool:
        """Stop inputs, drain, flush; False when the grace period ran out first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self.stopping.set()
        clean = True
        try:
            if self._input_tasks:
                done, pending = await asyncio.wait(self._input_tasks, timeout=max(0.0, deadline - loop.time()))
                for task in pending:
                    task.cancel()
            self.queue.close()
            if self._worker_tasks:
                done, pending = await asyncio.wait(self._worker_tasks, timeout=max(0.0, deadline - loop.time()))
                if pending:
                    clean = False
                    for task in pending:
                        task.cancel()
                    await asyncio.gather(*pending, return_exceptions=True)
        finally:
            for plugin in reversed(self._started):
                try:
                    await asyncio.wait_for(plugin.stop(), max(0.1, deadline - loop.time()))
                except Exception as exc:
                    clean = False
                    log.error("stopping %s %s failed: %s", plugin.kind, plugin.id, describe_exception(exc))
            self._started.clear()
            try:
                await self.dead_letter_queue.stop()
            except Exception as exc:
                clean = False
                log.error("closing the dead-letter queue failed: %s", describe_exception(exc))
            self.filter_runner.shutdown()
        unacked = self.events_submitted - self.events_settled
        if unacked > 0:
            clean = False
        if unacked > 0:
            log.error("shutdown grace period ran out: %d events were not acknowledged", unacked)
        return clean

    @property
    def unacknowledged(self) -> int:
        return self.events_submitted - self.events_settled


async def until_stopped(stop: asyncio.Event, done: Awaitable[Any] | None = None) -> None:
    """Wait until ``stop`` is set or, for finite inputs, ``done`` (their end) comes first."""
    waiters: list[asyncio.Future[Any]] = [asyncio.ensure_future(stop.wait())]
    if done is not None:
        waiters.append(asyncio.ensure_future(done))
    await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    for w in waiters:
        w.cancel()


def _reason_type(reason: str) -> str:
    from logpipe.dlq.record import error_type_of

    return error_type_of(reason)


def _owners(batches: list[Batch], events: list[Event], rejected: list[Rejection]) -> dict[int, int]:
    """Dead letters per input batch (by index): each rejected event is traced back to the
    batch it came in (filters keep event objects); one a filter made is not counted."""
    if len(batches) == 1:
        return {0: len(rejected)}
    owner = {id(e): n for n, b in enumerate(batches) for e in b.events}
    counts: dict[int, int] = {}
    for r in rejected:
        n = owner.get(id(events[r.position]))
        if n is not None:
            counts[n] = counts.get(n, 0) + 1
    return counts
