"""The ``perfclass`` filter: duration in nanoseconds, a speed class, and SLO budgets.

Writes ``event.duration`` (integer nanoseconds, as ECS defines it),
``performance.class`` (fast / normal / slow / critical), and where a budget
applies ``performance.budget_ms`` and ``performance.slo_breach``; a matched
route with a name also gives ``performance.route``.
"""
from __future__ import annotations

import math
from typing import Any

from logpipe.core.event import METADATA, Event
from logpipe.core.fieldref import Path, parse
from logpipe.core.plugin import Filter, PluginContext
from logpipe.filters.fieldaccess import getter, setter
from logpipe.filters.perfclass.config import PerfClassConfig, Thresholds
from logpipe.filters.perfclass.routes import RouteTable

_NS_PER = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}
_ORIGINAL = ("url", "original")
_URL, _ORIGINAL_KEY = _ORIGINAL
_INF = math.inf
#: Requests whose route decision is remembered (paths repeat; the cache is emptied when full).
_VERDICTS = 4096
#: (fast_ms, normal_ms, slow_ms, budget_ms, route name)
Verdict = tuple[float, float, float, "int | float | None", "str | None"]
_PERF = "performance"


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


def speed_class(ms: float, bounds: Thresholds) -> str:
    if ms < bounds.fast_ms:
        return "fast"
    if ms < bounds.normal_ms:
        return "normal"
    if ms < bounds.slow_ms:
        return "slow"
    return "critical"


class PerfClassFilter(Filter):
    Config = PerfClassConfig
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
        #: Per source: where it is when that is read inline (``[@metadata][key]``: the
        #: request time, or ``[outer][inner]`` in the data: ``event.duration``) else None,
        #: its reader, factor to nanoseconds, unit.
        self._readers = tuple((_inline(source), getter(source), _NS_PER[unit], unit)
                              for source, unit in self._sources)
        #: The target's two keys when it is ``[outer][inner]`` in the data (written inline).
        self._target_keys = _inline(self._target)
        if self._target_keys is not None and self._target_keys[0] == METADATA:
            self._target_keys = None
        #: What a request's (path, method) decides: class bounds, budget, route name.
        self._verdicts: dict[tuple[str, str | None], Verdict] = {}
        self._no_route = self._decide(None, None)
        self._put_duration = setter(self._target)
        self._get_path = getter(self._path)
        self._get_original = getter(_ORIGINAL)
        self._get_method = getter(self._method)
        #: The key of the path field inside ``url`` when it is ``url.<key>`` (the default,
        #: ``url.path``): the ``url`` object is then read once for it and ``url.original``.
        self._url_key: str | None = (self._path[1] if len(self._path) == 2
                                     and self._path[0] == _ORIGINAL[0] else None)

    def _request_path(self, event: Event) -> str | None:
        path = self._get_path(event)
        if type(path) is not str:
            original = self._get_original(event)
            if type(original) is not str:
                return None
            path = original
        cut = path.find("?")
        return path if cut < 0 else path[:cut]

    def _decide(self, path: str | None, method: str | None) -> Verdict:
        """Class bounds, budget and route name for a request (path None: no route)."""
        cfg = self.config
        bounds, budget, name = cfg.thresholds, cfg.budget_ms, None
        if path is not None:
            # Uncached: the caller remembers the whole verdict, so a second cache of the
            # route would only add its own bookkeeping to every miss.
            route = self._routes.match(path, method)
            if route is not None:
                bounds = route.thresholds or cfg.thresholds
                if route.budget_ms is not None:
                    budget = route.budget_ms
                name = route.name
        return bounds.fast_ms, bounds.normal_ms, bounds.slow_ms, budget, name

    def process(self, events: list[Event]) -> list[Event]:
        readers, put_duration, get_method = self._readers, self._put_duration, self._get_method
        request_path = self._request_path
        verdicts = self._verdicts
        no_route = self._no_route
        url_key = self._url_key
        target_keys = self._target_keys
        for event in events:
            for where, read, factor, unit in readers:
                # what ``read(event)`` answers, without the call for the usual shapes
                if where is None:
                    raw = read(event)
                elif where[0] == METADATA:
                    raw = event.metadata.get(where[1])
                else:
                    node = event.data.get(where[0])
                    if type(node) is dict:
                        raw = node.get(where[1])
                    elif node is None:
                        raw = None
                    else:
                        raw = read(event)
                if raw is not None:
                    break
            else:
                continue
            # to_nanoseconds, with its two common cases written out
            kind = type(raw)
            if kind is float and 0 <= raw and raw * factor < _INF:
                ns = round(raw * factor)
            elif kind is int and raw >= 0:
                ns = raw * factor
            else:
                found = to_nanoseconds(raw, unit)
                if found is None:
                    if self._tag_failure:
                        event.add_tag(*self._tag_failure)
                    continue
                ns = found
            # put_duration(event, ns), inline when the target's parent is a plain dict
            if target_keys is not None and type(node := event.data.get(target_keys[0])) is dict:
                node[target_keys[1]] = ns
            else:
                put_duration(event, ns)
            ms = ns / 1_000_000
            url = event.data.get(_URL) if url_key is not None else None
            if type(url) is dict:
                # _request_path with the url object read once
                path = url.get(url_key)
                if type(path) is not str:
                    path = url.get(_ORIGINAL_KEY)
                    if type(path) is not str:
                        path = None
                if path is not None:
                    cut = path.find("?")
                    if cut >= 0:
                        path = path[:cut]
            else:
                path = request_path(event)
            if path is None:
                verdict = no_route
            else:
                method = get_method(event)
                key = (path, method if type(method) is str else None)
                cached = verdicts.get(key)
                if cached is None:
                    if len(verdicts) >= _VERDICTS:
                        verdicts.clear()
                    cached = verdicts[key] = self._decide(*key)
                verdict = cached
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
        return events
