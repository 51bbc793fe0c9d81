"""Filter and output stages: a plugin wrapped with its condition and its counters.

The engine calls stages, never plugins, so conditions, metrics and failure
handling are written once here instead of in every plugin.
"""
from __future__ import annotations

import logging
from itertools import compress, repeat
from operator import getitem
from time import perf_counter
from typing import Any, Awaitable, Callable

from logpipe.core.event import Event
from logpipe.core.metrics import PluginStats
from logpipe.core.ordering import PASS, RouteHabits, route_batch, route_one
from logpipe.core.outcome import Delivery
from logpipe.core.plugin import Filter, Output
from logpipe.errors import DeliveryError

log = logging.getLogger("logpipe.engine")

FILTER_ERROR_TAG = "_filter_error"


def _verdicts(predicate: Callable[[Event], bool], events: list[Event]) -> list[Any]:
    """The predicate's answer for each event, in order (truthy: the event is chosen).

    A compiled condition brings its own loop over a batch (``many``, see
    logpipe.core.condition_codegen), with no Python call per event; for other
    predicates ``map`` drives the loop from C. A predicate that raises answers
    False for that event only (a condition never stops the pipeline): the batch is
    then evaluated again event by event; conditions have no side effects.
    """
    try:
        many = getattr(predicate, "many", None)
        if many is not None:
            return many(events)
        return list(map(predicate, events))
    except Exception:
        return [_safe(predicate, event) for event in events]


def _safe(predicate: Callable[[Event], bool], event: Event) -> Any:
    try:
        return predicate(event)
    except Exception:
        return False


class FilterStage:
    __slots__ = ("plugin", "predicate", "stats", "_warned", "ordered", "_habits")

    def __init__(self, plugin: Filter, predicate: Callable[[Event], bool] | None, stats: PluginStats,
                 *, ordered: bool = True) -> None:
        self.plugin = plugin
        self.predicate = predicate
        self.stats = stats
        self._warned = False
        #: Keep each event's place in the batch (``pipeline.ordered``); see logpipe.core.ordering.
        self.ordered = ordered
        self._habits = RouteHabits()

    def run(self, events: list[Event]) -> list[Event]:
        """The batch after this stage, each event (or what the plugin made of it) where
        it entered (exactly when ``ordered``; see logpipe.core.ordering).

        When the condition chooses every event or none (a guard on a field that
        every event of the batch has, or that none has), the batch is not split:
        the plugin gets it whole, or it passes through untouched.
        """
        if not events:
            return events
        predicate = self.predicate
        if predicate is not None:
            verdicts = _verdicts(predicate, events)
            if not any(verdicts):
                return events
            if not all(verdicts):
                return route_one(events, verdicts, self._counted, ordered=self.ordered,
                                 habits=self._habits)
        return self._counted(events)

    def _counted(self, events: list[Event]) -> list[Event]:
        stats = self.stats
        started = perf_counter()
        stats.events_in += len(events)
        out = self._process(events)
        stats.events_out += len(out)
        stats.seconds += perf_counter() - started
        return out

    def _process(self, events: list[Event]) -> list[Event]:
        try:
            return self.plugin.process(events)
        except Exception as exc:
            # One bad event must not cost the batch: retry one by one and tag the culprits.
            if not self._warned:
                log.exception("filter %s failed on a batch; isolating events", self.plugin.id)
                self._warned = True
            else:
                log.warning("filter %s failed on a batch: %s", self.plugin.id, exc)
            out: list[Event] = []
            for event in events:
                try:
                    out.extend(self.plugin.process([event]))
                except Exception as err:
                    self.stats.failures += 1
                    event.add_tag(FILTER_ERROR_TAG)
                    event.metadata["filter_error"] = f"{self.plugin.id}: {type(err).__name__}: {err}"
                    out.append(event)
            return out


class ConditionalStage:
    """``if`` / ``else if`` / ``else`` over lists of stages.

    Each event takes the first branch whose condition holds (or the ``else``
    branch, or none). A batch whose events all take the same branch goes through
    it whole; a mixed batch is split per branch and put back in order
    (:mod:`logpipe.core.ordering`).
    """

    __slots__ = ("predicates", "branches", "otherwise", "ordered", "_habits", "_routes")

    def __init__(self, branches: list[tuple[Callable[[Event], bool], list[Any]]],
                 otherwise: list[Any] | None, *, ordered: bool = True) -> None:
        self.predicates = [p for p, _ in branches]
        self.branches = [stages for _, stages in branches]
        self.otherwise = otherwise or []
        self.ordered = ordered
        self._habits = RouteHabits()
        routes = [self._runner(stages) for stages in self.branches]
        if self.otherwise:
            routes.append(self._runner(self.otherwise))
        self._routes = routes

    @staticmethod
    def _runner(stages: list[Any]) -> Callable[[list[Event]], list[Event]]:
        def run(events: list[Event]) -> list[Event]:
            for stage in stages:
                events = stage.run(events)
                if not events:
                    break
            return events
        return run

    def stages(self) -> list[Any]:
        """Every stage inside, depth first (for listings and lifecycle)."""
        out: list[Any] = []
        for stages in [*self.branches, self.otherwise]:
            for stage in stages:
                out.append(stage)
                if isinstance(stage, ConditionalStage):
                    out.extend(stage.stages())
        return out

    def run(self, events: list[Event]) -> list[Event]:
        if not events:
            return events
        else_label = len(self.branches) if self.otherwise else PASS
        if len(self.predicates) == 1:
            verdicts = _verdicts(self.predicates[0], events)
            labels = list(map(getitem, repeat((else_label, 0)), map(bool, verdicts)))
        else:
            labels = [else_label] * len(events)
            undecided = list(range(len(events)))
            for index, predicate in enumerate(self.predicates):
                if not undecided:
                    break
                verdicts = _verdicts(predicate, [events[i] for i in undecided])
                still: list[int] = []
                for i, verdict in zip(undecided, verdicts):
                    if verdict:
                        labels[i] = index
                    else:
                        still.append(i)
                undecided = still
        first = labels[0]
        if labels.count(first) == len(labels):
            return events if first == PASS else self._routes[first](events)
        return route_batch(events, labels, self._routes, ordered=self.ordered, habits=self._habits)


class OutputStage:
    """An output with its condition and counters; turns whatever ``send`` did into a
    :class:`Delivery` over the events the stage was given.

    Outputs that return None delivered everything; ``DeliveryError`` settles every
    event by its ``retriable`` flag; any other exception asks for a retry.
    """

    __slots__ = ("plugin", "predicate", "stats")

    def __init__(self, plugin: Output, predicate: Callable[[Event], bool] | None, stats: PluginStats) -> None:
        self.plugin = plugin
        self.predicate = predicate
        self.stats = stats

    async def send(self, events: list[Event]) -> Delivery:
        positions: list[int] | None = None
        chosen = events
        if self.predicate is not None and events:
            verdicts = _verdicts(self.predicate, events)
            if not all(verdicts):
                positions = [i for i, v in enumerate(verdicts) if v]
                chosen = [events[i] for i in positions]
        if not chosen:
            return Delivery()
        result = await self._counted(self.plugin.send(chosen), len(chosen))
        if positions is None or result.complete:
            return result
        return Delivery(retry={positions[i]: r for i, r in result.retry.items()},
                        rejected={positions[i]: r for i, r in result.rejected.items()},
                        details={positions[i]: d for i, d in result.details.items()})


    async def send_packed(self, bodies: list[bytes], count: int) -> Delivery:
        """Output bytes the native route made for ``count`` events (logpipe.core.packed),
        counted and judged as ``send`` counts and judges events."""
        return await self._counted(self.plugin.send_packed(bodies), count)  # type: ignore[attr-defined]

    async def _counted(self, sending: Awaitable[Delivery | None], count: int) -> Delivery:
        """What a send of ``count`` events did, with this stage's counters kept."""
        stats = self.stats
        stats.events_in += count
        started = perf_counter()
        try:
            result = await sending
        except DeliveryError as exc:
            reason = describe_exception(exc)
            result = Delivery.all_retry(count, reason) if exc.retriable else Delivery.all_rejected(count, reason)
        except Exception as exc:
            result = Delivery.all_retry(count, describe_exception(exc))
        finally:
            stats.seconds += perf_counter() - started
        if result is None or result.complete:
            stats.events_out += count
            return Delivery()
        missed = len(result.retry.keys() | result.rejected.keys())
        stats.failures += missed
        stats.events_out += count - missed
        return result


def describe_exception(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def noop(*_args: Any) -> None:
    return None


def filter_plugins(stages: list[FilterStage | ConditionalStage]) -> list[Filter]:
    """Every filter plugin of a stage tree, in file order."""
    out: list[Filter] = []
    for stage in stages:
        inner = stage.stages() if isinstance(stage, ConditionalStage) else [stage]
        out.extend(s.plugin for s in inner if isinstance(s, FilterStage))
    return out
