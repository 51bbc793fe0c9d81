"""The PromQL expressions logpipe ships (Grafana dashboard, Prometheus rules), parsed by
a real PromQL parser (promql-parser, a Rust port of Prometheus' own), and the metric
names they read."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import promql_parser
import yaml

ROOT = Path(__file__).resolve().parents[3]
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "logpipe.json"
RULES = ROOT / "deploy" / "kubernetes" / "prometheusrule.yaml"
#: What Grafana puts in place of its variables before a query reaches Prometheus.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "30s", "$__range": "1h", "$pipeline": ".*",
                     "${datasource}": "prometheus"}


def grafana(expr: str) -> str:
    for name, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(name, value)
    return expr


def dashboard_exprs(doc: dict[str, Any] | None = None) -> Iterator[tuple[str, str]]:
    """(panel title, expression) for every query of the dashboard."""
    doc = doc if doc is not None else json.loads(DASHBOARD.read_text())
    for panel in doc["panels"]:
        for target in panel.get("targets", ()):
            yield panel["title"], grafana(target["expr"])


def rule_exprs(doc: dict[str, Any] | None = None) -> Iterator[tuple[str, str]]:
    """(rule name, expression) for every rule of a PrometheusRule object."""
    doc = doc if doc is not None else yaml.safe_load(RULES.read_text())
    for group in doc["spec"]["groups"]:
        for rule in group["rules"]:
            yield rule.get("alert") or rule["record"], rule["expr"]


def recorded(doc: dict[str, Any] | None = None) -> set[str]:
    doc = doc if doc is not None else yaml.safe_load(RULES.read_text())
    return {r["record"] for g in doc["spec"]["groups"] for r in g["rules"] if "record" in r}


def metric_names(expr: str) -> set[str]:
    """Parse ``expr`` (raises ValueError when it is not valid PromQL) and return the
    metric names its selectors read."""
    names: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            names.add(node.name)

    promql_parser.walk(promql_parser.parse(expr), visit)
    return names
