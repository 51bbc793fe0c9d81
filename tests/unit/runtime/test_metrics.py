"""The plugin metrics registry, cluster totals and their Prometheus rendering."""
from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from logpipe.core.plugin import PluginContext
from logpipe.runtime.metrics import ClusterCollector, ClusterTotals, MetricsRegistry, families_json


def worker_snapshot(acked: int, *, out: int, queue: int = 0, metrics: list[Any] | None = None) -> dict[str, Any]:
    return {
        "batches": 1, "events_acked": acked, "events_failed": 0, "unacknowledged": queue,
        "queue": {"events": queue, "bytes": queue * 10, "max_events": 100, "max_bytes": 1000},
        "plugins": [
            {"kind": "input", "type": "generator", "id": "gen", "events_in": 0, "events_out": out,
             "failures": 0, "seconds": 0.0},
            {"kind": "filter", "type": "drop", "id": "d", "events_in": out, "events_out": out - 2,
             "failures": 1, "seconds": 0.5},
        ],
        "metrics": metrics or [],
    }


def samples(text: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text.decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def render(status: dict[str, Any]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ClusterCollector(lambda: status))  # type: ignore[arg-type]
    return samples(generate_latest(registry))


def test_registry_children_are_cached_and_snapshotted() -> None:
    m = MetricsRegistry()
    c = m.counter("dlq_events_total", {"id": "es", "reason": "mapping"}, help="dead-lettered")
    assert m.counter("dlq_events_total", {"reason": "mapping", "id": "es"}) is c
    c.inc(3)
    m.gauge("kafka_consumer_lag", {"partition": 0}, merge="max").set(42)
    h = m.histogram("output_bulk_size", {"id": "es"}, buckets=(10, 100))
    for v in (5, 50, 500):
        h.observe(v)
    snap = {f["name"]: f for f in m.snapshot()}
    assert snap["logpipe_dlq_events_total"]["samples"] == [[{"id": "es", "reason": "mapping"}, 3.0]]
    assert snap["logpipe_kafka_consumer_lag"]["merge"] == "max"
    assert snap["logpipe_output_bulk_size"]["samples"][0][1] == {"counts": [1, 1, 1], "sum": 555.0, "count": 3}


def test_registry_rejects_misuse() -> None:
    m = MetricsRegistry()
    m.counter("x_total")
    with pytest.raises(ValueError):
        m.gauge("x_total")
    with pytest.raises(ValueError):
        m.counter("bad name")
    with pytest.raises(ValueError):
        m.counter("y_total").inc(-1)
    with pytest.raises(ValueError):
        m.counter("z_total", {"__reserved": "1"})


def test_the_context_carries_the_process_registry() -> None:
    ctx = PluginContext()
    assert isinstance(ctx.metrics, MetricsRegistry)
    own = MetricsRegistry()
    assert PluginContext(metrics=own).metrics is own


def test_totals_sum_workers_and_keep_exited_counts() -> None:
    totals = ClusterTotals()
    a, b = worker_snapshot(100, out=110, queue=5), worker_snapshot(50, out=60, queue=1)
    combined = totals.combine([a, b])
    assert combined["events_acked"] == 150
    assert combined["events_in"] == 170
    assert combined["queue"]["events"] == 6
    # worker a exits and is replaced by a fresh worker that has counted 10 so far
    totals.retire(a)
    combined = totals.combine([b, worker_snapshot(10, out=10)])
    assert combined["events_acked"] == 160
    assert combined["events_in"] == 180
    assert combined["queue"]["events"] == 1  # gauges: only the living count
    gen = next(p for p in combined["plugins"] if p["id"] == "gen")
    assert gen["events_out"] == 180


def test_plugin_metrics_merge_by_type() -> None:
    def reg(lag: float, dlq: int, sizes: list[int]) -> list[Any]:
        m = MetricsRegistry()
        m.gauge("kafka_consumer_lag", {"partition": "0"}, merge="max").set(lag)
        m.gauge("inflight", {"id": "es"}).set(lag)
        m.counter("dlq_events_total", {"id": "es"}).inc(dlq)
        h = m.histogram("output_bulk_size", {"id": "es"}, buckets=(10, 100))
        for s in sizes:
            h.observe(s)
        return m.snapshot()

    totals = ClusterTotals()
    combined = totals.combine([worker_snapshot(1, out=1, metrics=reg(7, 2, [5])),
                               worker_snapshot(1, out=1, metrics=reg(3, 4, [50, 500]))])
    fams = {f["name"]: f for f in families_json(combined["metrics"])}
    assert fams["logpipe_kafka_consumer_lag"]["samples"] == [[{"partition": "0"}, 7.0]]
    assert fams["logpipe_inflight"]["samples"] == [[{"id": "es"}, 10.0]]
    assert fams["logpipe_dlq_events_total"]["samples"] == [[{"id": "es"}, 6.0]]
    assert fams["logpipe_output_bulk_size"]["samples"][0][1]["counts"] == [1, 1, 1]

    totals.retire(worker_snapshot(1, out=1, metrics=reg(9, 5, [1])))
    combined = totals.combine([])
    fams = {f["name"]: f for f in families_json(combined["metrics"])}
    assert fams["logpipe_dlq_events_total"]["samples"] == [[{"id": "es"}, 5.0]]
    assert "logpipe_kafka_consumer_lag" not in fams  # a gauge of an exited worker is gone


def test_prometheus_exposition() -> None:
    totals = ClusterTotals()
    m = MetricsRegistry()
    m.counter("dlq_events_total", {"id": "es"}, help="DLQ").inc(4)
    h = m.histogram("output_request_seconds", {"id": "es"}, buckets=(0.1, 1))
    h.observe(0.05)
    h.observe(2)
    combined = totals.combine([worker_snapshot(100, out=110, queue=5, metrics=m.snapshot()),
                               worker_snapshot(50, out=60)])
    status = {"pipeline": "gm", "totals": combined, "generation": 3, "ready": True, "workers_expected": 2,
              "reloads": {"success": 1, "failure": 2},
              "workers": [{"index": 0, "state": "running", "restarts": 2},
                          {"index": 1, "state": "running", "restarts": 0}]}
    s = render(status)
    gen = (("id", "gen"), ("kind", "input"), ("pipeline", "gm"), ("type", "generator"))
    drop = (("id", "d"), ("kind", "filter"), ("pipeline", "gm"), ("type", "drop"))
    assert s[("logpipe_events_out_total", gen)] == 170
    assert s[("logpipe_events_in_total", drop)] == 170
    assert s[("logpipe_events_filtered_total", drop)] == 4
    assert s[("logpipe_plugin_failures_total", drop)] == 2
    assert s[("logpipe_plugin_seconds_total", drop)] == 1.0
    assert s[("logpipe_events_acked_total", (("pipeline", "gm"),))] == 150
    assert s[("logpipe_queue_events", (("pipeline", "gm"),))] == 5
    assert s[("logpipe_workers_running", (("pipeline", "gm"),))] == 2
    assert s[("logpipe_worker_restarts_total", (("pipeline", "gm"), ("worker", "0")))] == 2
    assert s[("logpipe_config_reloads_total", (("pipeline", "gm"), ("result", "failure")))] == 2
    assert s[("logpipe_dlq_events_total", (("id", "es"),))] == 4
    assert s[("logpipe_output_request_seconds_bucket", (("id", "es"), ("le", "0.1")))] == 1
    assert s[("logpipe_output_request_seconds_bucket", (("id", "es"), ("le", "+Inf")))] == 2
    assert s[("logpipe_output_request_seconds_count", (("id", "es"),))] == 2
