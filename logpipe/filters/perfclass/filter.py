"""The ``perfclass`` filter: duration in nanoseconds, a speed class, and SLO budgets.

Writes ``event.duration`` (integer nanoseconds, as ECS defines it),
``performance.class`` (fast / normal / slow / critical), and where a budget
applies ``performance.budget_ms`` and ``performance.slo_breach``; a matched
route with a name also gives ``performance.route``.

The ``performance`` objects are made in advance, eight per route; an event gets
a copy of its own, or the object itself where the pipeline found that nothing
later edits it in place (``share_memo``, see logpipe.core.sharing).
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from logpipe.core.event import METADATA, Event
from logpipe.core.fieldref import Path, parse
from logpipe.core.plugin import Filter, PluginContext
from logpipe.core.sharing import SharesMemo
from logpipe.core.writes import TAGS_CHANGE, Writes, set_paths
from logpipe.filters.fieldaccess import getter, setter
from logpipe.filters.perfclass.config import PerfClassConfig, Thresholds
from logpipe.filters.perfclass.loop import GENERAL, IN_DATA, IN_META, build_loop
from logpipe.filters.perfclass.native import native_batch, run
from logpipe.filters.perfclass.routes import RouteTable

_NS_PER = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}
_ORIGINAL = ("url", "original")
_URL, _ORIGINAL_KEY = _ORIGINAL
_INF = math.inf
#: Paths whose route decision is remembered (paths repeat; the cache is emptied when full).
_VERDICTS = 4096
#: Methods remembered per path whose route depends on the method.
_METHODS = 8
#: (fast_ms, normal_ms, slow_ms, budget_ms, route name)
Verdict = tuple[float, float, float, "int | float | None", "str | None"]
#: A verdict, its bounds again, its budget (+inf for none) and its eight ``performance``
#: objects (see PerfClassFilter._outcome).
Outcome = tuple[Verdict, float, float, float, "int | float", tuple[dict[str, Any], ...]]
_PERF = "performance"
#: How a duration source is read: ``[@metadata][key]``, ``[outer][inner]`` in the data, else
#: through its general reader.
_IN_META, _IN_DATA, _GENERAL = IN_META, IN_DATA, GENERAL


def to_nanoseconds(value: Any, unit: str) -> int | None:
    """A duration as integer nanoseconds, or None when it is not a finite number >= 0."""
    kind = type(value)
    if kind is int:
        number: float | int = value
    elif kind is float:
        number = value
    elif kind is str:
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    if number < 0 or (kind is not int and not math.isfinite(number)):
        return None
    factor = _NS_PER[unit]
    if type(number) is int:
        return number * factor
    scaled = number * factor
    # 1e300 seconds is finite, its nanoseconds are not: no duration, not an OverflowError
    return round(scaled) if scaled < _INF else None


def _inline(path: Path) -> tuple[str, str] | None:
    """The two keys of a path its reader walks inline (``[@metadata][key]`` or
    ``[outer][inner]``), else None."""
    return (path[0], path[1]) if len(path) == 2 else None


def _without_query(path: str) -> str:
    """The part of a request path routes match on: up to its query string."""
    query = path.find("?")
    return path if query < 0 else path[:query]


def _source_kind(path: Path) -> int:
    if len(path) != 2:
        return _GENERAL
    return _IN_META if path[0] == METADATA else _IN_DATA


def speed_class(ms: float, bounds: Thresholds) -> str:
    if ms < bounds.fast_ms:
        return "fast"
    if ms < bounds.normal_ms:
        return "normal"
    if ms < bounds.slow_ms:
        return "slow"
    return "critical"


class PerfClassFilter(SharesMemo, Filter):
    Config = PerfClassConfig
    runs_on_event_loop = True
    config: PerfClassConfig

    def __init__(self, config: PerfClassConfig, *, id: str,
                 context: PluginContext | None = None) -> None:
        super().__init__(config, id=id, context=context)
        if config.sources:
            self._sources: list[tuple[Path, str]] = [(parse(s.field), s.unit) for s in config.sources]
        else:
            self._sources = [(parse(config.source), config.unit)]
        self._target = parse(config.target)
        self._path = parse(config.path_field)
        self._method = parse(config.method_field)
        self._routes = RouteTable(config.routes)
        self._tag_failure = tuple(config.tag_on_failure)
        self._tag_breach = tuple(config.tag_on_breach)
        #: Per source: how it is read (``_IN_META``, ``_IN_DATA``, ``_GENERAL``), its two
        #: keys when it has two, its reader, factor to nanoseconds, unit.
        self._readers = tuple((_source_kind(source), source[0], source[-1], getter(source),
                               _NS_PER[unit], unit) for source, unit in self._sources)
        #: The target's two keys when it is ``[outer][inner]`` in the data (written inline).
        self._target_keys = _inline(self._target)
        if self._target_keys is not None and self._target_keys[0] == METADATA:
            self._target_keys = None
        #: The method field's three keys when it is ``[a][b][c]`` in the data (read inline).
        self._method_keys: tuple[str, str, str] | None = (
            (self._method[0], self._method[1], self._method[2])
            if len(self._method) == 3 and self._method[0] != METADATA else None)
        #: Every outcome a request can have: one per route, then the one of no route. A
        #: request's outcome depends on nothing but its route, so there are few of them.
        cfg = config
        verdicts: list[Verdict] = []
        for route in self._routes.routes:
            bounds = route.thresholds or cfg.thresholds
            budget = route.budget_ms if route.budget_ms is not None else cfg.budget_ms
            verdicts.append((bounds.fast_ms, bounds.normal_ms, bounds.slow_ms, budget, route.name))
        verdicts.append((cfg.thresholds.fast_ms, cfg.thresholds.normal_ms, cfg.thresholds.slow_ms,
                         cfg.budget_ms, None))
        self._outcomes: tuple[Outcome, ...] = tuple(self._outcome(v) for v in verdicts)
        #: What a request decides, remembered by its path as written (paths repeat): its
        #: outcome, or for a path whose route depends on the method, a table by method.
        #: Emptied when it holds ``_VERDICTS`` paths; a table by method when it holds
        #: ``_METHODS`` methods (methods are few; the log decides, so it is bounded too).
        self._memo: dict[str, Outcome | dict[str | None, Outcome]] = {}
        self._put_duration = setter(self._target)
        self._get_path = getter(self._path)
        self._get_original = getter(_ORIGINAL)
        self._get_method = getter(self._method)
        #: The key of the path field inside ``url`` when it is ``url.<key>`` (the default,
        #: ``url.path``): the ``url`` object is then read once for it and ``url.original``.
        self._url_key: str | None = (self._path[1] if len(self._path) == 2
                                     and self._path[0] == _ORIGINAL[0] else None)
        self._loop = build_loop(self._readers, {
            "to_nanoseconds": to_nanoseconds, "_INF": _INF, "_URL": _URL,
            "_ORIGINAL_KEY": _ORIGINAL_KEY, "_PERF": _PERF})
        #: The loop's common case as one native call per batch (None: the loop alone).
        self._native = native_batch(self)

    def writes(self) -> Writes:
        # The duration, the ``performance`` object (or its keys, when there is one), tags.
        return set_paths(self._target, (_PERF,), (_PERF, "*")) + TAGS_CHANGE

    def shared_paths(self) -> tuple[Path, ...]:
        return ((_PERF,),)

    def made_in_advance(self) -> Iterable[object]:
        return (perf for outcome in self._outcomes for perf in outcome[5])

    def _request_path(self, event: Event, cut: bool = True) -> str | None:
        """The path routes match on (``cut=False``: as written, query and all)."""
        path = self._get_path(event)
        if type(path) is not str:
            original = self._get_original(event)
            if type(original) is not str:
                return None
            path = original
        return _without_query(path) if cut else path

    def _decide(self, path: str | None, method: str | None) -> Verdict:
        """Class bounds, budget and route name for a request (path None: no route)."""
        return self._outcomes[self._route_index(path, method)][0]

    def _route_index(self, path: str | None, method: str | None) -> int:
        """Position of the request's route in the table, or -1 (the last outcome) for none."""
        if path is None:
            return -1
        # Uncached: the caller remembers the whole outcome, so a second cache of the
        # route would only add its own bookkeeping to every miss.
        return self._routes.index(path, method)

    def _outcome(self, verdict: Verdict) -> Outcome:
        """A verdict with its ``performance`` objects made in advance, one per class and
        breach: ``perfs[(ms >= fast) + (ms >= normal) + (ms >= slow) + 4 * (ms > budget)]``
        is what an event of ``ms`` milliseconds gets (budget +inf when there is none)."""
        fast, normal, slow, budget, name = verdict
        perfs = []
        for breach in (False, True):
            for cls in ("fast", "normal", "slow", "critical"):
                perf: dict[str, Any] = {"class": cls}
                if budget is not None:
                    perf["budget_ms"] = budget
                    perf["slo_breach"] = breach
                if name is not None:
                    perf["route"] = name
                perfs.append(perf)
        return verdict, fast, normal, slow, _INF if budget is None else budget, tuple(perfs)

    def _performance(self, event: Event, ms: float, verdict: Verdict) -> None:
        """Write the ``performance`` object of a request (the plain way, one event)."""
        fast, normal, slow, budget, route_name = verdict
        perf: dict[str, Any] = {"class": "fast" if ms < fast else "normal" if ms < normal
                                else "slow" if ms < slow else "critical"}
        if budget is not None:
            breach = ms > budget
            perf["budget_ms"] = budget
            perf["slo_breach"] = breach
            if breach and self._tag_breach:
                event.add_tag(*self._tag_breach)
        if route_name is not None:
            perf["route"] = route_name
        existing = event.data.get(_PERF)
        if type(existing) is dict:
            existing.update(perf)
        else:
            event.data[_PERF] = perf

    def process_each(self, events: list[Event]) -> list[Event]:
        """The filter as its settings say it, one event at a time through the general
        readers and writers, no memo: what :meth:`process` must answer (tests hold it to it)."""
        for event in events:
            for source, unit in self._sources:
                raw = event.get_path(source)
                if raw is not None:
                    break
            else:
                continue
            ns = to_nanoseconds(raw, unit)
            if ns is None:
                if self._tag_failure:
                    event.add_tag(*self._tag_failure)
                continue
            event.set_path(self._target, ns)
            path = self._request_path(event)
            method = event.get_path(self._method)
            self._performance(event, ns / 1_000_000,
                              self._decide(path, method if type(method) is str else None))
        return events

    def _remember(self, raw_path: str) -> Outcome | dict[str | None, Outcome]:
        """The memo's entry for a path as written: its outcome when the method cannot
        change it (most paths: their route has no methods), else a table by method."""
        if len(self._memo) >= _VERDICTS:
            self._memo.clear()
        index = self._routes.path_index(_without_query(raw_path))
        entry: Outcome | dict[str | None, Outcome] = {} if index is None else self._outcomes[index]
        self._memo[raw_path] = entry
        return entry

    def _remember_method(self, raw_path: str, method: str | None,
                         by_method: dict[str | None, Outcome]) -> Outcome:
        if len(by_method) >= _METHODS:
            by_method.clear()
        outcome = by_method[method] = self._outcomes[self._route_index(_without_query(raw_path), method)]
        return outcome

    def process(self, events: list[Event]) -> list[Event]:
        """:meth:`process_each`, with the usual shapes read and written inline, the
        request's outcome remembered by its raw path and method, and the ``performance``
        object copied from one made in advance: the loop :mod:`.loop` wrote for this
        filter's sources, its common case native where the module is (:mod:`.native`)."""
        if self._native is not None and type(events) is list:
            return run(self, self._native, self._loop, events, _VERDICTS, _METHODS)
        return self._loop(self, events)
