"""The pipeline engine: inputs -> bounded queue -> workers (filters, outputs) -> acks.

A worker takes up to ``batch_size`` events' worth of input batches, runs the
filter stages in order, hands the result to every output concurrently, and
only then settles the input batches: delivered when every output returned,
failed when one raised. Inputs turn that outcome into their own protocol's
acknowledgement. When the queue is full, ``submit`` waits, and the wait
propagates to the sender: that is the backpressure.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable, cast

from logpipe.config.loader import (
    ConditionalEntry,
    FilterItem,
    PipelineSpec,
    PluginEntry,
)
from logpipe.core.batch import Batch, DoneCallback, flatten
from logpipe.core.decorate import decorator_for
from logpipe.core.event import Event
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
from logpipe.core.stages import (
    ConditionalStage,
    FilterStage,
    OutputStage,
    describe_exception,
)

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


def filter_plugins(stages: list[FilterStage | ConditionalStage]) -> list[Filter]:
    """Every filter plugin of a stage tree, in file order."""
    out: list[Filter] = []
    for stage in stages:
        inner = stage.stages() if isinstance(stage, ConditionalStage) else [stage]
        out.extend(s.plugin for s in inner if isinstance(s, FilterStage))
    return out


class Pipeline:
    def __init__(self, spec: PipelineSpec, *, worker_index: int = 0, worker_count: int = 1,
                 shared: dict[str, Any] | None = None) -> None:
        self.spec = spec
        self.settings = spec.settings
        self.stats = PipelineStats()
        self.queue = BoundedQueue(self.settings.queue_max_events, self.settings.queue_max_bytes)
        self.context = PluginContext(pipeline=spec.name, worker_index=worker_index,
                                     worker_count=worker_count, settings=self.settings,
                                     shared=shared if shared is not None else {})
        self.context.shared.setdefault("pipeline", self)
        self.inputs: list[Input] = [self._build(e) for e in spec.inputs]  # type: ignore[misc]
        self.ordered = self.settings.is_ordered
        self.filter_stages: list[FilterStage | ConditionalStage] = self._stages(spec.filters)
        self.output_stages = [OutputStage(self._build(e), e.predicate,  # type: ignore[arg-type]
                                          self.stats.plugin("output", e.type, e.id)) for e in spec.outputs]
        self.stopping = asyncio.Event()
        self._input_tasks: list[asyncio.Task[None]] = []
        self._worker_tasks: list[asyncio.Task[None]] = []
        self._started: list[Plugin] = []
        self.events_submitted = 0
        self.events_settled = 0
        self._all_settled = asyncio.Event()
        self._all_settled.set()

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

        async def submit(events: list[Event], *, size: int = 0, on_done: DoneCallback | None = None,
                         token: Any = None) -> Batch:
            if decorate is not None:
                decorate(events)
            batch = Batch(events, size=size, input_id=input_id, on_done=on_done, token=token)
            await self.queue.put(batch)
            self._accepted(batch)
            return batch

        def try_submit(events: list[Event], *, size: int = 0, on_done: DoneCallback | None = None,
                       token: Any = None) -> Batch | None:
            if decorate is not None:
                decorate(events)
            batch = Batch(events, size=size, input_id=input_id, on_done=on_done, token=token)
            if not self.queue.try_put(batch):
                return None
            self._accepted(batch)
            return batch

        return InputContext(submit, try_submit, self.stopping, self.queue)

    def _settle(self, batches: list[Batch], ok: bool, reason: str | None) -> None:
        count = 0
        for batch in batches:
            count += len(batch.events)
            batch.complete(ok, reason)
        self.events_settled += count
        if ok:
            self.stats.events_acked += count
        else:
            self.stats.events_failed += count
        if self.events_settled >= self.events_submitted:
            self._all_settled.set()

    # --- workers -------------------------------------------------------------------
    async def _worker(self) -> None:
        queue = self.queue
        size = self.settings.batch_size
        delay = self.settings.batch_delay_ms / 1000.0
        stages = self.filter_stages
        outputs = self.output_stages
        while True:
            batches = await queue.get_many(size, delay)
            if not batches:
                return
            self.stats.batches += 1
            events = flatten(batches)
            try:
                for stage in stages:
                    events = stage.run(events)
                if len(outputs) == 1:
                    await outputs[0].send(events)
                elif outputs:
                    results = await asyncio.gather(*(o.send(events) for o in outputs),
                                                   return_exceptions=True)
                    for result in results:
                        if isinstance(result, BaseException):
                            raise result
            except asyncio.CancelledError:
                self._settle(batches, False, "shutdown")
                raise
            except Exception as exc:
                reason = describe_exception(exc)
                log.error("batch of %d events not delivered: %s", len(events), reason)
                self._settle(batches, False, reason)
                continue
            self._settle(batches, True, None)

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
        """Start outputs, then filters, then workers, then inputs."""
        for plugin in [*self.outputs, *self.filters]:
            await plugin.start()
            self._started.append(plugin)
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
        waiters: list[asyncio.Future[Any]] = [asyncio.ensure_future(stop.wait())]
        if self.finite:
            waiters.append(asyncio.ensure_future(self.inputs_done()))
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for w in waiters:
            w.cancel()
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
        unacked = self.events_submitted - self.events_settled
        if unacked > 0:
            clean = False
        if unacked > 0:
            log.error("shutdown grace period ran out: %d events were not acknowledged", unacked)
        return clean

    @property
    def unacknowledged(self) -> int:
        return self.events_submitted - self.events_settled
