"""The ``perfclass`` filter: duration in nanoseconds, a speed class, and SLO budgets.

Writes ``event.duration`` (integer nanoseconds, as ECS defines it),
``performance.class`` (fast / normal / slow / critical), and where a budget
applies ``performance.budget_ms`` and ``performance.slo_breach``; a matched
route with a name also gives ``performance.route``.
"""
from __future__ import annotations

import math
from typing import Any

from logpipe.core.event import Event
from logpipe.core.fieldref import Path, parse
from logpipe.core.plugin import Filter, PluginContext
from logpipe.filters.fieldaccess import getter, setter
from logpipe.filters.perfclass.config import PerfClassConfig, Thresholds
from logpipe.filters.perfclass.routes import RouteTable

_NS_PER = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}
_ORIGINAL = ("url", "original")
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
    return round(number * factor)


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
        self._readers = tuple((getter(source), unit) for source, unit in self._sources)
        self._put_duration = setter(self._target)
        self._get_path = getter(self._path)
        self._get_original = getter(_ORIGINAL)
        self._get_method = getter(self._method)

    def _request_path(self, event: Event) -> str | None:
        path = self._get_path(event)
        if type(path) is not str:
            original = self._get_original(event)
            if type(original) is not str:
                return None
            path = original
        cut = path.find("?")
        return path if cut < 0 else path[:cut]

    def process(self, events: list[Event]) -> list[Event]:
        cfg = self.config
        default_bounds, default_budget = cfg.thresholds, cfg.budget_ms
        find = self._routes.find
        readers, put_duration, get_method = self._readers, self._put_duration, self._get_method
        for event in events:
            for read, unit in readers:
                raw = read(event)
                if raw is not None:
                    break
            else:
                continue
            ns = to_nanoseconds(raw, unit)
            if ns is None:
                if self._tag_failure:
                    event.add_tag(*self._tag_failure)
                continue
            put_duration(event, ns)
            ms = ns / 1_000_000
            bounds, budget, route_name = default_bounds, default_budget, None
            path = self._request_path(event)
            if path is not None:
                method = get_method(event)
                route = find(path, method if type(method) is str else None)
                if route is not None:
                    bounds = route.thresholds or default_bounds
                    if route.budget_ms is not None:
                        budget = route.budget_ms
                    route_name = route.name
            perf: dict[str, Any] = {"class": speed_class(ms, bounds)}
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
