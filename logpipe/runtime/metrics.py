"""Metrics: what plugins publish, how workers' figures add up, and Prometheus exposition.

The engine counts events per plugin by itself (``logpipe.core.metrics``). Figures
only a plugin knows (bulk sizes, request latency, retries, dead-lettered events,
Kafka lag) go into a :class:`MetricsRegistry`, one per worker process, handed to
plugins as ``context.metrics`` (the classes live in :mod:`logpipe.core.telemetry`;
plugins never import this module)::

    async def start(self) -> None:
        m = self.context.metrics
        # fetch children once and keep them: inc/set/observe are then an attribute update
        self._dlq = m.counter("dlq_events_total", {"id": self.id}, help="Events written to the DLQ.")
        self._bulk = m.histogram("output_bulk_size", {"id": self.id}, buckets=SIZE_BUCKETS)

    async def send(self, events):
        ...
        self._bulk.observe(len(events))
        self._dlq.inc(len(rejected))

Names get a ``logpipe_`` prefix when they lack one. Names the shipped alerts and
dashboards expect (labels in brackets; ``id`` is the plugin id):

- ``logpipe_output_bulk_size`` histogram [id]: documents per bulk request.
- ``logpipe_output_request_seconds`` histogram [id]: latency of one request.
- ``logpipe_output_retries_total`` counter [id, reason]: requests tried again.
- ``logpipe_output_documents_total`` counter [id, result]: documents written, already
  there (a redelivery), or rejected.
- ``logpipe_dlq_events_total`` counter [id, reason]: events written to the dead-letter queue.
- ``logpipe_kafka_consumer_lag`` gauge [id, topic, partition], ``merge="max"``.

Every worker sends ``snapshot()`` to the supervisor once a second. There,
:class:`ClusterTotals` adds the workers up: counters and histograms are summed,
and a worker that exits leaves its last figures behind, so a restart never
makes a counter go down; gauges describe the present, so only running workers
count, combined by the gauge's ``merge`` rule (``sum``, ``max`` or ``min``).
:class:`ClusterCollector` renders the result for prometheus-client.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, Mapping

from logpipe.core.telemetry import (DEFAULT_BUCKETS, MERGES, PREFIX, SIZE_BUCKETS, Counter, Gauge,
                                   Histogram, LabelKey, MetricsRegistry, label_key, metric_name)

__all__ = ["DEFAULT_BUCKETS", "MERGES", "PREFIX", "SIZE_BUCKETS", "ClusterCollector", "ClusterTotals",
           "Counter", "Gauge", "Histogram", "LabelKey", "MetricsRegistry", "families_json",
           "label_key", "metric_name"]

# --- the supervisor side -----------------------------------------------------------
PLUGIN_COUNTERS = ("events_in", "events_out", "failures", "seconds")
PIPELINE_COUNTERS = ("batches", "events_acked", "events_failed")
#: Per pipeline of a pipelines.yml, besides the counters: the present, summed over live workers.
PIPELINE_GAUGES = ("unacknowledged", "queue_events", "queue_bytes", "queue_max_events",
                   "queue_max_bytes")
PluginKey = tuple[str, str, str, str]  # pipeline ("" when the worker runs one), kind, type, id


class ClusterTotals:
    """Adds up worker snapshots; keeps what exited workers had counted."""

    def __init__(self) -> None:
        self._retired_plugins: dict[PluginKey, dict[str, float]] = {}
        self._retired: dict[str, float] = dict.fromkeys(PIPELINE_COUNTERS, 0)
        self._retired_families: dict[str, dict[str, Any]] = {}
        #: Per pipeline, when workers run a pipelines.yml.
        self._retired_pipelines: dict[str, dict[str, float]] = {}

    def retire(self, snapshot: Mapping[str, Any] | None) -> None:
        """Fold an exited worker's last counters into the base the live ones add to."""
        if not snapshot:
            return
        _add_plugins(self._retired_plugins, snapshot.get("plugins", ()))
        for k in PIPELINE_COUNTERS:
            self._retired[k] += snapshot.get(k, 0) or 0
        _merge_families(self._retired_families, snapshot.get("metrics", ()), counters_only=True)
        for p in snapshot.get("pipelines", ()):
            acc = self._retired_pipelines.setdefault(p["pipeline"], dict.fromkeys(PIPELINE_COUNTERS, 0))
            for k in PIPELINE_COUNTERS:
                acc[k] += p.get(k, 0) or 0

    def combine(self, live: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
        """Cluster-wide figures: retired counters plus every live worker's snapshot."""
        plugins = {k: dict(v) for k, v in self._retired_plugins.items()}
        totals: dict[str, float] = dict(self._retired)
        queue = {"events": 0, "bytes": 0, "max_events": 0, "max_bytes": 0}
        unacked = 0
        families = {n: _copy_family(f) for n, f in self._retired_families.items()}
        pipelines = {name: {**v, **dict.fromkeys(PIPELINE_GAUGES, 0)}
                     for name, v in self._retired_pipelines.items()}
        for snap in live:
            for p in snap.get("pipelines", ()):
                acc = pipelines.setdefault(p["pipeline"], dict.fromkeys(
                    (*PIPELINE_COUNTERS, *PIPELINE_GAUGES), 0))
                for k in (*PIPELINE_COUNTERS, *PIPELINE_GAUGES):
                    acc[k] += p.get(k, 0) or 0
            _add_plugins(plugins, snap.get("plugins", ()))
            for k in PIPELINE_COUNTERS:
                totals[k] += snap.get(k, 0) or 0
            for k in queue:
                queue[k] += (snap.get("queue") or {}).get(k, 0) or 0
            unacked += snap.get("unacknowledged", 0) or 0
            _merge_families(families, snap.get("metrics", ()), counters_only=False)
        # Events entering from outside: a pipeline input's come from another pipeline.
        events_in = sum(v["events_out"] for k, v in plugins.items()
                        if k[1] == "input" and not (k[0] and k[2] == "pipeline"))
        for name, acc in pipelines.items():
            acc["events_in"] = sum(v["events_out"] for k, v in plugins.items()
                                   if k[0] == name and k[1] == "input")
        return {
            **({"pipelines": [{"pipeline": name, **acc} for name, acc in pipelines.items()]}
               if pipelines else {}),
            **totals,
            "events_in": events_in,
            "unacknowledged": unacked,
            "queue": queue,
            "plugins": [{**({"pipeline": k[0]} if k[0] else {}), "kind": k[1], "type": k[2],
                         "id": k[3], **v} for k, v in plugins.items()],
            "metrics": list(families.values()),
        }


def _add_plugins(into: dict[PluginKey, dict[str, float]], plugins: Iterable[Mapping[str, Any]]) -> None:
    for p in plugins:
        key = (p.get("pipeline", ""), p.get("kind", ""), p.get("type", ""), p.get("id", ""))
        acc = into.get(key)
        if acc is None:
            acc = into[key] = dict.fromkeys(PLUGIN_COUNTERS, 0)
        for c in PLUGIN_COUNTERS:
            acc[c] += p.get(c, 0) or 0


def _copy_family(f: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(f)
    out["samples"] = {k: (dict(v) if isinstance(v, dict) else v) for k, v in f["samples"].items()}
    return out


def _merge_value(type_: str, merge: str, old: Any, new: Any) -> Any:
    if type_ == "histogram":
        if old is None:
            return {"counts": list(new["counts"]), "sum": new["sum"], "count": new["count"]}
        if len(old["counts"]) != len(new["counts"]):
            return old
        return {"counts": [a + b for a, b in zip(old["counts"], new["counts"])],
                "sum": old["sum"] + new["sum"], "count": old["count"] + new["count"]}
    if old is None:
        return new
    if type_ == "gauge" and merge == "max":
        return max(old, new)
    if type_ == "gauge" and merge == "min":
        return min(old, new)
    return old + new


def _merge_families(into: dict[str, dict[str, Any]], families: Iterable[Mapping[str, Any]],
                    *, counters_only: bool) -> None:
    """Merge JSON families into ``into`` (samples keyed by label tuples)."""
    for f in families:
        type_ = f.get("type")
        if counters_only and type_ == "gauge":
            continue
        name = f.get("name")
        acc = into.get(name)  # type: ignore[arg-type]
        if acc is None:
            acc = into[name] = {"name": name, "type": type_, "help": f.get("help", ""),  # type: ignore[index]
                                "merge": f.get("merge", "sum"), "buckets": list(f.get("buckets", ())),
                                "samples": {}}
        elif acc["type"] != type_:
            continue
        samples = acc["samples"]
        for labels, value in f.get("samples", ()):
            key = label_key(labels)
            samples[key] = _merge_value(type_, acc["merge"], samples.get(key), value)  # type: ignore[arg-type]


def families_json(families: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Merged families with samples as ``[labels, value]`` lists, for the /stats document."""
    return [{**f, "samples": [[dict(k), v] for k, v in f["samples"].items()]} for f in families]


# --- Prometheus exposition ---------------------------------------------------------
class ClusterCollector:
    """A prometheus-client collector over the supervisor's current view.

    ``source()`` returns the supervisor's status document (see ``Supervisor.status``):
    ``pipeline``, ``workers`` and the combined totals.
    """

    def __init__(self, source: Callable[[], Mapping[str, Any]]) -> None:
        self._source = source

    def describe(self) -> list[Any]:
        return []  # unchecked collector: families depend on the running pipeline

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        status = self._source()
        pipeline = str(status.get("pipeline", ""))
        totals = status.get("totals", {})
        plabels = ["pipeline", "kind", "type", "id"]

        per_plugin = {
            "events_in": CounterMetricFamily("logpipe_events_in", "Events a plugin received.", labels=plabels),
            "events_out": CounterMetricFamily(
                "logpipe_events_out", "Events a plugin passed on (inputs: accepted into the queue).",
                labels=plabels),
            "failures": CounterMetricFamily(
                "logpipe_plugin_failures",
                "Filters: events the filter raised on; outputs: sends that raised.", labels=plabels),
            "seconds": CounterMetricFamily(
                "logpipe_plugin_seconds", "Time spent in the plugin's process or send.", labels=plabels),
        }
        filtered = CounterMetricFamily(
            "logpipe_events_filtered", "Events a filter removed (in minus out, when positive).",
            labels=plabels)
        for p in totals.get("plugins", ()):
            values = [p.get("pipeline") or pipeline, p["kind"], p["type"], p["id"]]
            for key, family in per_plugin.items():
                if key == "events_in" and p["kind"] == "input":
                    continue
                if key == "seconds" and p["kind"] == "input":
                    continue
                family.add_metric(values, p.get(key, 0))
            if p["kind"] == "filter":
                filtered.add_metric(values, max(0, p.get("events_in", 0) - p.get("events_out", 0)))
        yield from per_plugin.values()
        yield filtered

        def gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
            g = GaugeMetricFamily(name, doc, labels=["pipeline"])
            g.add_metric([pipeline], value)
            return g

        # One row per pipeline: the process tree's one pipeline, or each of a pipelines.yml.
        queue = totals.get("queue", {})
        rows = totals.get("pipelines") or [{
            "pipeline": pipeline, "events_in": totals.get("events_in", 0),
            "batches": totals.get("batches", 0), "events_acked": totals.get("events_acked", 0),
            "events_failed": totals.get("events_failed", 0),
            "unacknowledged": totals.get("unacknowledged", 0),
            **{f"queue_{k}": queue.get(k, 0) for k in ("events", "bytes", "max_events", "max_bytes")}}]
        for kind, name, doc, key in _PIPELINE_SERIES:
            series: Any = (CounterMetricFamily if kind == "counter" else GaugeMetricFamily)(
                name, doc, labels=["pipeline"])
            for row in rows:
                series.add_metric([str(row["pipeline"])], row.get(key, 0))
            yield series

        workers = status.get("workers", ())
        yield gauge("logpipe_workers", "Worker processes configured.", status.get("workers_expected", 0))
        yield gauge("logpipe_workers_running", "Worker processes running their pipeline.",
                    sum(1 for w in workers if w.get("state") == "running"))
        restarts = CounterMetricFamily("logpipe_worker_restarts", "Workers restarted after a crash.",
                                       labels=["pipeline", "worker"])
        for w in workers:
            restarts.add_metric([pipeline, str(w["index"])], w.get("restarts", 0))
        yield restarts
        reloads = CounterMetricFamily("logpipe_config_reloads", "Configuration reloads by result.",
                                      labels=["pipeline", "result"])
        for result, n in (status.get("reloads") or {}).items():
            reloads.add_metric([pipeline, result], n)
        yield reloads
        yield gauge("logpipe_config_generation", "Generation of the running configuration.",
                    status.get("generation", 0))
        yield gauge("logpipe_ready", "1 when every worker runs and every output is reachable.",
                    1 if status.get("ready") else 0)
        yield from _plugin_families(totals.get("metrics", ()))


_PIPELINE_SERIES = (
    ("counter", "logpipe_pipeline_events_in", "Events accepted from all inputs.", "events_in"),
    ("counter", "logpipe_batches", "Worker batches processed.", "batches"),
    ("counter", "logpipe_events_acked", "Events every output delivered (acknowledged to inputs).",
     "events_acked"),
    ("counter", "logpipe_events_failed", "Events an output failed to deliver (not acknowledged).",
     "events_failed"),
    ("gauge", "logpipe_events_unacknowledged", "Events accepted and not yet settled.", "unacknowledged"),
    ("gauge", "logpipe_queue_events", "Events waiting in the queues.", "queue_events"),
    ("gauge", "logpipe_queue_bytes", "Bytes waiting in the queues.", "queue_bytes"),
    ("gauge", "logpipe_queue_max_events", "Queue capacity in events.", "queue_max_events"),
    ("gauge", "logpipe_queue_max_bytes", "Queue capacity in bytes.", "queue_max_bytes"),
)


def _plugin_families(families: Iterable[Mapping[str, Any]]) -> Iterator[Any]:
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

    for f in families:
        samples = f["samples"]
        items = samples.items() if isinstance(samples, dict) else [(label_key(s[0]), s[1]) for s in samples]
        names = sorted({k for key, _ in items for k, _v in key})
        family: Any
        if f["type"] == "counter":
            family = CounterMetricFamily(f["name"], f["help"] or f["name"], labels=names)
        elif f["type"] == "gauge":
            family = GaugeMetricFamily(f["name"], f["help"] or f["name"], labels=names)
        else:
            family = HistogramMetricFamily(f["name"], f["help"] or f["name"], labels=names)
        for key, value in items:
            d = dict(key)
            values = [d.get(n, "") for n in names]
            if f["type"] == "histogram":
                cumulative: list[tuple[str, float]] = []
                running = 0
                for bound, n in zip([*f["buckets"], float("inf")], value["counts"]):
                    running += n
                    cumulative.append(("+Inf" if bound == float("inf") else _fmt(bound), running))
                family.add_metric(values, cumulative, value["sum"])
            else:
                family.add_metric(values, value)
        yield family


def _fmt(bound: float) -> str:
    return repr(float(bound))
