"""Filter and output stages: a plugin wrapped with its condition and its counters.

The engine calls stages, never plugins, so conditions, metrics and failure
handling are written once here instead of in every plugin.
"""
from __future__ import annotations

import logging
from itertools import compress
from operator import not_
from time import perf_counter
from typing import Any, Callable

from logpipe.core.event import Event
from logpipe.core.metrics import PluginStats
from logpipe.core.outcome import Delivery
from logpipe.core.plugin import Filter, Output
from logpipe.errors import DeliveryError

log = logging.getLogger("logpipe.engine")

FILTER_ERROR_TAG = "_filter_error"


def _verdicts(predicate: Callable[[Event], bool], events: list[Event]) -> list[Any]:
    """The predicate's answer for each event, in order (truthy: the event is chosen).

    ``map`` drives the loop from C, which matters for stages whose condition is
    cheaper than the loop around it. A predicate that raises answers False for
    that event only (a condition never stops the pipeline): the batch is then
    evaluated again event by event; conditions have no side effects.
    """
    try:
        return list(map(predicate, events))
    except Exception:
        return [_safe(predicate, event) for event in events]


def _safe(predicate: Callable[[Event], bool], event: Event) -> Any:
    try:
        return predicate(event)
    except Exception:
        return False


class FilterStage:
    __slots__ = ("plugin", "predicate", "stats", "_warned")

    def __init__(self, plugin: Filter, predicate: Callable[[Event], bool] | None, stats: PluginStats) -> None:
        self.plugin = plugin
        self.predicate = predicate
        self.stats = stats
        self._warned = False

    def run(self, events: list[Event]) -> list[Event]:
        """The batch after this stage: events its condition passed over come first,
        in their order, then what the plugin returned for the chosen ones.

        When the condition chooses every event or none (a guard on a field that
        every event of the batch has, or that none has), the batch is not split:
        the plugin gets it whole, or it passes through untouched.
        """
        if not events:
            return events
        started = perf_counter()
        stats = self.stats
        predicate = self.predicate
        if predicate is not None:
            verdicts = _verdicts(predicate, events)
            if not any(verdicts):
                return events
            if not all(verdicts):
                chosen = list(compress(events, verdicts))
                stats.events_in += len(chosen)
                processed = self._process(chosen)
                stats.events_out += len(processed)
                stats.seconds += perf_counter() - started
                others = list(compress(events, map(not_, verdicts)))
                others.extend(processed)
                return others
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
        stats = self.stats
        stats.events_in += len(chosen)
        started = perf_counter()
        try:
            result = await self.plugin.send(chosen)
        except DeliveryError as exc:
            reason = describe_exception(exc)
            result = (Delivery.all_retry(len(chosen), reason) if exc.retriable
                      else Delivery.all_rejected(len(chosen), reason))
        except Exception as exc:
            result = Delivery.all_retry(len(chosen), describe_exception(exc))
        finally:
            stats.seconds += perf_counter() - started
        if result is None or result.complete:
            stats.events_out += len(chosen)
            return Delivery()
        missed = len(result.retry.keys() | result.rejected.keys())
        stats.failures += missed
        stats.events_out += len(chosen) - missed
        if positions is None:
            return result
        return Delivery(retry={positions[i]: r for i, r in result.retry.items()},
                        rejected={positions[i]: r for i, r in result.rejected.items()},
                        details={positions[i]: d for i, d in result.details.items()})


def describe_exception(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def noop(*_args: Any) -> None:
    return None
