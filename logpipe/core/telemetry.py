"""The metrics registry a plugin writes its own series to (``context.metrics``).

The engine counts events in and out, failures and time per plugin by itself
(:mod:`logpipe.core.metrics`); a plugin adds figures only it knows (bulk sizes,
request latency, retries, Kafka lag) here. Updates are attribute changes on
children fetched once at start; the runtime turns the registry into JSON once
a second and adds the workers up (:mod:`logpipe.runtime.metrics`).
"""
from __future__ import annotations

import re
from bisect import bisect_left
from typing import Any, Iterable, Mapping

PREFIX = "logpipe_"
DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
SIZE_BUCKETS = (1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
MERGES = ("sum", "max", "min")

LabelKey = tuple[tuple[str, str], ...]


def metric_name(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"invalid metric name {name!r}")
    return name if name.startswith(PREFIX) else PREFIX + name


def label_key(labels: Mapping[str, Any] | None) -> LabelKey:
    if not labels:
        return ()
    for k in labels:
        if not _LABEL.match(k) or k.startswith("__"):
            raise ValueError(f"invalid label name {k!r}")
    return tuple(sorted((k, str(v)) for k, v in labels.items()))


# --- the worker side ---------------------------------------------------------------
class Counter:
    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0.0

    def inc(self, amount: float = 1) -> None:
        if amount < 0:
            raise ValueError("a counter only goes up")
        self.value += amount


class Gauge:
    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0.0

    def set(self, value: float) -> None:
        self.value = float(value)

    def inc(self, amount: float = 1) -> None:
        self.value += amount

    def dec(self, amount: float = 1) -> None:
        self.value -= amount


class Histogram:
    __slots__ = ("bounds", "counts", "sum", "count")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last one is +Inf
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value
        self.count += 1


class _Family:
    __slots__ = ("name", "type", "help", "merge", "bounds", "children")

    def __init__(self, name: str, type_: str, help_: str, merge: str, bounds: tuple[float, ...]) -> None:
        self.name = name
        self.type = type_
        self.help = help_
        self.merge = merge
        self.bounds = bounds
        self.children: dict[LabelKey, Any] = {}


class MetricsRegistry:
    """A worker's plugin-published metrics; cheap to update, turned into JSON once a second."""

    def __init__(self) -> None:
        self._families: dict[str, _Family] = {}

    def _family(self, name: str, type_: str, help_: str, merge: str = "sum",
                bounds: tuple[float, ...] = ()) -> _Family:
        name = metric_name(name)
        family = self._families.get(name)
        if family is None:
            if merge not in MERGES:
                raise ValueError(f"merge must be one of {MERGES}")
            family = self._families[name] = _Family(name, type_, help_, merge, bounds)
        elif family.type != type_:
            raise ValueError(f"metric {name} is already a {family.type}")
        return family

    def counter(self, name: str, labels: Mapping[str, Any] | None = None, *, help: str = "") -> Counter:
        family = self._family(name, "counter", help)
        key = label_key(labels)
        child = family.children.get(key)
        if child is None:
            child = family.children[key] = Counter()
        return child

    def gauge(self, name: str, labels: Mapping[str, Any] | None = None, *, help: str = "",
              merge: str = "sum") -> Gauge:
        """``merge`` says how workers' values combine: ``sum`` (default), ``max`` or ``min``."""
        family = self._family(name, "gauge", help, merge)
        key = label_key(labels)
        child = family.children.get(key)
        if child is None:
            child = family.children[key] = Gauge()
        return child

    def histogram(self, name: str, labels: Mapping[str, Any] | None = None, *, help: str = "",
                  buckets: Iterable[float] = DEFAULT_BUCKETS) -> Histogram:
        bounds = tuple(sorted(float(b) for b in buckets))
        family = self._family(name, "histogram", help, bounds=bounds)
        if family.bounds != bounds:
            raise ValueError(f"metric {family.name} already has other buckets")
        key = label_key(labels)
        child = family.children.get(key)
        if child is None:
            child = family.children[key] = Histogram(bounds)
        return child

    def remove(self, name: str, labels: Mapping[str, Any] | None = None) -> None:
        """Drop one labelled child (a gauge for a partition this worker no longer owns)."""
        family = self._families.get(metric_name(name))
        if family is not None:
            family.children.pop(label_key(labels), None)

    def snapshot(self) -> list[dict[str, Any]]:
        """JSON-ready families: ``{name, type, help, merge, buckets, samples: [[labels, value]]}``."""
        out: list[dict[str, Any]] = []
        for f in self._families.values():
            samples: list[list[Any]] = []
            for key, child in f.children.items():
                if f.type == "histogram":
                    value: Any = {"counts": list(child.counts), "sum": child.sum, "count": child.count}
                else:
                    value = child.value
                samples.append([dict(key), value])
            out.append({"name": f.name, "type": f.type, "help": f.help, "merge": f.merge,
                        "buckets": list(f.bounds), "samples": samples})
        return out
