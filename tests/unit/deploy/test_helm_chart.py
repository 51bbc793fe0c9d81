"""The Helm chart deploy/helm/logpipe renders, with a real ``helm template``, the same
objects as a real ``kustomize build deploy/kubernetes``, and its values change what
they say.

helm and kustomize are built from the Go module proxy by scripts/build-tools.sh and
cached under ~/.cache/logpipe-tools (built here on first use when missing)."""
from __future__ import annotations

import copy
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from logpipe.config.loader import load_text
from tests.unit.deploy.promql_support import metric_names, rule_exprs

ROOT = Path(__file__).resolve().parents[3]
CHART = ROOT / "deploy" / "helm" / "logpipe"
KUSTOMIZE = ROOT / "deploy" / "kubernetes"
#: What Helm adds that kustomize does not: its bookkeeping labels and the pipeline checksum
#: that rolls the pods when the pipeline changes.
HELM_LABELS = ("helm.sh/chart", "app.kubernetes.io/managed-by")
HELM_ANNOTATIONS = ("checksum/pipeline",)
# The first test on a fresh machine builds the tools (a few minutes on two cores).
pytestmark = pytest.mark.timeout(900)


@lru_cache(maxsize=1)
def tools() -> dict[str, str]:
    out = subprocess.run(["bash", str(ROOT / "scripts" / "build-tools.sh"), "helm", "kustomize"],
                         capture_output=True, text=True, timeout=800)
    assert out.returncode == 0, f"building the tools failed:\n{out.stderr[-3000:]}"
    helm, kustomize = out.stdout.strip().splitlines()[-2:]
    return {"helm": helm, "kustomize": kustomize}


def helm() -> str:
    return tools()["helm"]


def render(*args: str) -> list[dict[str, Any]]:
    out = subprocess.run([helm(), "template", "logpipe", str(CHART), "--namespace", "graphmemory", *args],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def kustomized() -> list[dict[str, Any]]:
    """deploy/kubernetes as ``kustomize build`` (what ``kubectl apply -k`` applies) makes it."""
    out = subprocess.run([tools()["kustomize"], "build", str(KUSTOMIZE)], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def normalized(doc: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    for key in HELM_LABELS:
        doc["metadata"].get("labels", {}).pop(key, None)
    if doc["kind"] == "Deployment":
        template = doc["spec"]["template"]["metadata"]
        for key in HELM_ANNOTATIONS:
            template.get("annotations", {}).pop(key, None)
        if not template.get("annotations"):
            template.pop("annotations", None)
        for c in doc["spec"]["template"]["spec"]["containers"]:
            c["env"] = sorted(c["env"], key=lambda e: e["name"])  # order carries no meaning here
    return doc


def by_kind(docs: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    out = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    assert len(out) == len(docs)
    return out


def test_defaults_render_the_same_objects_as_kustomize() -> None:
    rendered = by_kind([normalized(d) for d in render()])
    expected = by_kind([normalized(d) for d in kustomized()])
    assert sorted(rendered) == sorted(expected)
    for key, doc in expected.items():
        assert rendered[key] == doc, key
    helm_labels = render()[0]["metadata"]["labels"]
    assert helm_labels["app.kubernetes.io/managed-by"] == "Helm"


def test_rendered_objects_are_valid_and_the_rules_parse() -> None:
    docs = render()
    for doc in docs:
        if doc["apiVersion"].startswith("monitoring.coreos.com"):
            continue
        kubernetes_validate.validate(doc, "1.30", strict=True)
    (rule,) = [d for d in docs if d["kind"] == "PrometheusRule"]
    exprs = list(rule_exprs(rule))
    assert exprs and all(metric_names(e) for _, e in exprs)
    assert "{{ $value | humanizePercentage }}" in yaml.safe_dump(rule)  # Prometheus' templates untouched


def test_values_set_endpoints_replicas_resources_and_pipeline(tmp_path: Path) -> None:
    pipeline = ("inputs:\n  - {type: stdin}\nfilters: []\noutputs:\n"
                "  - {type: elasticsearch, hosts: ['${LOGPIPE_ES_HOSTS}'], index: 'logs-x'}\n")
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump({
        "replicas": 5, "workers": 4,
        "endpoints": {"elasticsearch": "https://es.example:9200", "kafkaBootstrap": "k0:9092,k1:9092"},
        "resources": {"requests": {"cpu": "2", "memory": "2Gi"}, "limits": {"cpu": "4", "memory": "4Gi"}},
        # Helm merges maps with the defaults; null removes a key (no API key here).
        "secrets": {"name": "other-secret", "keys": {"LOGPIPE_SCRUB_KEY": "scrub", "LOGPIPE_ES_API_KEY": None}},
        "extraEnv": [{"name": "LOGPIPE_SAMPLE_RATE", "value": "20"}],
        "pipeline": pipeline, "serviceMonitor": {"enabled": False},
    }))
    docs = by_kind(render("-f", str(values)))
    deployment = docs[("Deployment", "logpipe")]
    assert deployment["spec"]["replicas"] == 5
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["args"][container["args"].index("--workers") + 1] == "4"
    assert container["resources"]["limits"] == {"cpu": "4", "memory": "4Gi"}
    env = {e["name"]: e for e in container["env"]}
    assert env["LOGPIPE_ES_HOSTS"]["value"] == "https://es.example:9200"
    assert env["LOGPIPE_KAFKA_BOOTSTRAP"]["value"] == "k0:9092,k1:9092"
    assert env["LOGPIPE_SCRUB_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "other-secret", "key": "scrub"}
    assert "LOGPIPE_ES_API_KEY" not in env and env["LOGPIPE_SAMPLE_RATE"]["value"] == "20"
    text = docs[("ConfigMap", "logpipe-pipelines")]["data"]["graphmemory.yaml"]
    assert load_text(text, name="custom", env={"LOGPIPE_ES_HOSTS": "https://es.example:9200"}).outputs
    assert ("ServiceMonitor", "logpipe") not in docs
    default_sum = by_kind(render())[("Deployment", "logpipe")]["spec"]["template"]["metadata"]["annotations"]
    assert deployment["spec"]["template"]["metadata"]["annotations"] != default_sum  # a new pipeline rolls pods


def test_the_charts_copies_match_the_kustomize_files() -> None:
    configmap = yaml.safe_load((KUSTOMIZE / "configmap.yaml").read_text())
    assert (CHART / "files" / "graphmemory.yaml").read_text() == configmap["data"]["graphmemory.yaml"]
    groups = yaml.safe_load((CHART / "files" / "prometheusrule-groups.yaml").read_text())
    assert groups == yaml.safe_load((KUSTOMIZE / "prometheusrule.yaml").read_text())["spec"]


@pytest.mark.parametrize("bad", [["--set", "replicas=notanumber"]])
def test_helm_itself_is_strict_about_output(bad: list[str]) -> None:
    # A value of the wrong type renders, but kubernetes-validate refuses the object.
    docs = by_kind(render(*bad))
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(docs[("Deployment", "logpipe")], "1.30", strict=True)
