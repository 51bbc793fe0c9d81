"""The Grafana dashboard and the alert rules: every expression is valid PromQL (a real
parser), reads only metrics logpipe registers, and the dashboard covers what operators
watch. tests/integration/test_dashboard_metrics.py checks the names against a live
/metrics."""
from __future__ import annotations

import json

import pytest
import yaml

from tests.unit.deploy.promql_support import (
    DASHBOARD,
    ROOT,
    dashboard_exprs,
    metric_names,
    recorded,
    rule_exprs,
)
from tests.unit.deploy.test_manifests import exported_metric_names

EXPRS = [*dashboard_exprs(), *rule_exprs()]


@pytest.mark.parametrize("name, expr", EXPRS, ids=[f"{i}-{n}" for i, (n, _) in enumerate(EXPRS)])
def test_every_expression_parses_and_reads_registered_metrics(name: str, expr: str) -> None:
    names = metric_names(expr)
    assert names, expr
    plain = {n for n in names if ":" not in n}
    assert plain <= exported_metric_names() | _histogram_series(), plain - exported_metric_names()
    assert names - plain <= recorded()


def _histogram_series() -> set[str]:
    return {f"{n}_{s}" for n in exported_metric_names() for s in ("bucket", "sum", "count")}


def test_the_parser_refuses_what_prometheus_refuses() -> None:
    for bad in ("sum(rate(logpipe_events_acked_total))", "rate(logpipe_events_acked_total[5m]",
                "histogram_quantile(logpipe_output_request_seconds_bucket)"):
        with pytest.raises(ValueError):
            metric_names(bad)


def test_the_dashboard_covers_what_operators_watch() -> None:
    doc = json.loads(DASHBOARD.read_text())
    panels = [p for p in doc["panels"] if p["type"] != "row"]
    assert len({p["id"] for p in doc["panels"]}) == len(doc["panels"])
    used = {n for _, e in dashboard_exprs(doc) for n in metric_names(e)}
    for needed in ("logpipe_events_out_total", "logpipe_pipeline_events_in_total", "logpipe_queue_events",
                   "logpipe_output_request_seconds_bucket", "logpipe_output_bulk_size_count",
                   "logpipe_output_retries_total", "logpipe_dlq_events_total", "logpipe_kafka_consumer_lag",
                   "logpipe_sample_events_total", "logpipe_worker_restarts_total", "logpipe_events_failed_total",
                   "logpipe_parse_failures_total"):
        assert needed in used, needed
    assert any("burn rate" in t.get("legendFormat", "") for p in panels for t in p["targets"])
    for p in panels:
        assert p["datasource"]["uid"] == "${datasource}" and p["targets"] and p["description"]


def test_compose_provisions_prometheus_scraping_logpipe_and_grafana_with_the_dashboard() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    prom = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    (job,) = prom["scrape_configs"]
    assert job["static_configs"][0]["targets"] == ["logpipe:9600"]
    assert "--metrics-port" in open(ROOT / "Dockerfile").read()  # the image serves /metrics on 9600
    assert any(v.startswith("./deploy/prometheus/prometheus.yml:") for v in compose["prometheus"]["volumes"])
    mounts = {v.split(":")[0]: v.split(":")[1] for v in compose["grafana"]["volumes"]}
    assert mounts["./deploy/grafana/dashboards"] == "/var/lib/grafana/dashboards"
    assert mounts["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"
    source = yaml.safe_load((ROOT / "deploy/grafana/provisioning/datasources/prometheus.yaml").read_text())
    assert source["datasources"][0]["url"] == "http://prometheus:9090"
    for service in ("prometheus", "grafana"):
        assert all(p.startswith("127.0.0.1:") for p in compose[service]["ports"])
