"""The Kubernetes manifests: valid against the API schemas, and consistent with logpipe itself."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

import logpipe.runtime.metrics as runtime_metrics
from logpipe.config.loader import load_text
from logpipe.errors import ConfigError, PluginNotFound
from logpipe.runtime.metrics import ClusterCollector, ClusterTotals

import kubernetes_validate  # noqa: E402  (a dev dependency: a missing one must fail, not skip)

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy" / "kubernetes"
K8S_VERSION = "1.30"
CRDS = {("monitoring.coreos.com/v1", "ServiceMonitor"), ("monitoring.coreos.com/v1", "PrometheusRule")}


def documents() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted(DEPLOY.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                out.append((path.name, doc))
    return out


def one(kind: str) -> dict[str, Any]:
    found = [d for _, d in documents() if d["kind"] == kind]
    assert len(found) == 1, kind
    return found[0]


def container() -> dict[str, Any]:
    return one("Deployment")["spec"]["template"]["spec"]["containers"][0]  # type: ignore[no-any-return]


def pipeline_text() -> str:
    return one("ConfigMap")["data"]["graphmemory.yaml"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("name, doc", [d for d in documents() if (d[1]["apiVersion"], d[1]["kind"]) not in CRDS],
                         ids=lambda v: v if isinstance(v, str) else v.get("kind"))
def test_builtin_resources_match_the_api_schema(name: str, doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_custom_resources_have_their_required_shape() -> None:
    sm = one("ServiceMonitor")
    assert sm["metadata"]["name"] and sm["spec"]["selector"]["matchLabels"]
    for endpoint in sm["spec"]["endpoints"]:
        assert set(endpoint) <= {"port", "path", "interval", "scrapeTimeout", "scheme", "relabelings",
                                 "metricRelabelings", "honorLabels"}
    rule = one("PrometheusRule")
    for group in rule["spec"]["groups"]:
        assert group["name"] and group["rules"]
        for r in group["rules"]:
            assert ("alert" in r) != ("record" in r), r
            assert isinstance(r["expr"], str) and r["expr"].count("(") == r["expr"].count(")")
            assert set(r) <= {"alert", "record", "expr", "for", "labels", "annotations", "keep_firing_for"}


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    files = {p.name for p in DEPLOY.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files


def test_deployment_shape() -> None:
    spec = one("Deployment")["spec"]
    pod = spec["template"]["spec"]
    assert spec["replicas"] == 3
    anti = pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]
    assert anti["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    assert anti["podAffinityTerm"]["labelSelector"]["matchLabels"] == spec["selector"]["matchLabels"]
    c = container()
    assert set(c["resources"]["requests"]) == {"cpu", "memory"} == set(c["resources"]["limits"])
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports == {"beats": 5044, "http": 8080, "metrics": 9600}
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
    args = c["args"]
    assert args[args.index("--metrics-port") + 1] == "9600"
    assert args[args.index("--metrics-host") + 1] == "0.0.0.0"
    # workers are given explicitly and fit the CPU limit
    assert int(args[args.index("--workers") + 1]) <= int(c["resources"]["limits"]["cpu"])


def test_shutdown_fits_in_the_grace_period() -> None:
    pod = one("Deployment")["spec"]["template"]["spec"]
    pre_stop = container()["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    drain = yaml.safe_load(pipeline_text())["settings"]["shutdown_timeout"]
    from logpipe.runtime.supervisor import KILL_MARGIN
    assert pod["terminationGracePeriodSeconds"] > int(pre_stop[1]) + drain + KILL_MARGIN


def test_security_context() -> None:
    pod = one("Deployment")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] > 0
    sc = container()["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    # a read-only root still needs a writable /tmp for the supervisor's accepted configurations
    mounts = {m["mountPath"]: m["name"] for m in container()["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]


def test_credentials_come_from_secrets() -> None:
    env = {e["name"]: e for e in container()["env"]}
    for name in ("LOGPIPE_SCRUB_KEY", "LOGPIPE_ES_API_KEY", "LOGPIPE_KAFKA_SASL_USERNAME",
                 "LOGPIPE_KAFKA_SASL_PASSWORD"):
        assert "secretKeyRef" in env[name]["valueFrom"], name
    assert all(n.startswith("LOGPIPE_") for n in env)
    # every ${VAR} the pipeline needs (without a default) is provided
    needed = set(re.findall(r"\$\{(\w+)\}", pipeline_text())) - {"LOGPIPE_WORKER_INDEX"}
    assert needed <= set(env), needed - set(env)


def test_pipeline_is_mounted_where_the_command_reads_it() -> None:
    mounts = {m["name"]: m["mountPath"] for m in container()["volumeMounts"]}
    pod = one("Deployment")["spec"]["template"]["spec"]
    cm_volume = next(v for v in pod["volumes"] if "configMap" in v)
    assert cm_volume["configMap"]["name"] == one("ConfigMap")["metadata"]["name"]
    assert mounts[cm_volume["name"]] == "/app/pipelines"
    args = container()["args"]
    assert args[args.index("--pipeline") + 1] == "/app/pipelines/graphmemory.yaml"


def test_pipeline_in_the_configmap_is_valid() -> None:
    env = {e["name"]: "placeholder" for e in container()["env"]}
    env.update(LOGPIPE_ES_HOSTS="https://es:9200", LOGPIPE_WORKER_INDEX="0")
    try:
        spec = load_text(pipeline_text(), name="graphmemory", env=env)
    except PluginNotFound as err:
        pytest.skip(f"plugin not available yet: {err}")
    except ConfigError as err:
        if "cannot be loaded" in str(err):
            pytest.skip(f"plugin not available yet: {err}")
        raise
    ports = {getattr(e.config, "port", None) for e in spec.inputs}
    assert {5044, 8080} <= ports
    assert all(getattr(e.config, "reuse_port", True) for e in spec.inputs)


def test_service_pdb_hpa() -> None:
    svc = one("Service")
    pod_labels = one("Deployment")["spec"]["template"]["metadata"]["labels"]
    assert svc["spec"]["selector"].items() <= pod_labels.items()
    assert {p["port"] for p in svc["spec"]["ports"]} == {5044, 8080, 9600}
    pdb = one("PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] == 2
    hpa = one("HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 10)
    assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    assert hpa["spec"]["scaleTargetRef"]["name"] == one("Deployment")["metadata"]["name"]
    sm = one("ServiceMonitor")
    assert sm["spec"]["selector"]["matchLabels"].items() <= svc["metadata"]["labels"].items()
    assert sm["spec"]["endpoints"][0]["port"] in {p["name"] for p in svc["spec"]["ports"]}


def exported_metric_names() -> set[str]:
    """What /metrics can show: the collector's families plus the plugin metrics documented for plugins."""
    status = {"pipeline": "p", "totals": ClusterTotals().combine([]), "workers": [{"index": 0, "restarts": 0}],
              "reloads": {"success": 0, "failure": 0}}
    names = set()
    for family in ClusterCollector(lambda: status).collect():
        names.add(family.name + ("_total" if family.type == "counter" else ""))
    # plugin metrics: the names the code registers (literal, or through a *_METRIC constant)
    source = "\n".join(p.read_text() for p in (ROOT / "logpipe").rglob("*.py"))
    constants = dict(re.findall(r"^(\w+_METRIC) = \"(\w+)\"", source, flags=re.M))
    for kind, name in re.findall(r"\.(counter|gauge|histogram)\(\s*(\"\w+\"|\w+_METRIC\b)", source):
        name = constants.get(name, name.strip('"'))
        full = runtime_metrics.metric_name(name)
        names.add(full if kind != "counter" or full.endswith("_total") else full + "_total")
    return names


def test_plugin_metrics_the_alerts_need_are_registered_by_the_code() -> None:
    names = exported_metric_names()
    for needed in ("logpipe_dlq_events_total", "logpipe_kafka_consumer_lag", "logpipe_output_bulk_size",
                   "logpipe_output_request_seconds", "logpipe_output_retries_total"):
        assert needed in names


def test_alerts_use_metrics_that_exist() -> None:
    rules = one("PrometheusRule")["spec"]["groups"]
    exprs = " ".join(r["expr"] for g in rules for r in g["rules"])
    used = set(re.findall(r"\b(logpipe_\w+)", exprs))
    assert used and used <= exported_metric_names(), used - exported_metric_names()
    alerts = {r["alert"]: r for g in rules for r in g["rules"] if "alert" in r}
    fast, slow = alerts["LogpipeDeliveryErrorBudgetFastBurn"], alerts["LogpipeDeliveryErrorBudgetSlowBurn"]
    assert "14.4" in fast["expr"] and "rate1h" in fast["expr"] and "rate5m" in fast["expr"]
    assert "6 *" in slow["expr"] and "rate6h" in slow["expr"] and "rate30m" in slow["expr"]
    records = {r["record"] for g in rules for r in g["rules"] if "record" in r}
    for alert in (fast, slow):
        assert set(re.findall(r"logpipe:[\w:]+", alert["expr"])) <= records
    for name in ("LogpipeDeadLetterQueueGrowing", "LogpipeKafkaConsumerLagHigh", "LogpipePipelineStalled"):
        assert name in alerts


def test_configmap_runs_the_same_pipeline_as_the_repository() -> None:
    """The ConfigMap differs from pipelines/graphmemory.yaml only in how it reaches things
    (bind address, credentials, spill path), never in what it does to events."""
    deployed = yaml.safe_load(pipeline_text())
    repo = yaml.safe_load((ROOT / "pipelines" / "graphmemory.yaml").read_text())
    assert deployed["filters"] == repo["filters"]
    shape = lambda plugins: [(p["type"], p.get("id"), p.get("if")) for p in plugins]  # noqa: E731
    assert shape(deployed["inputs"]) == shape(repo["inputs"])
    assert shape(deployed["outputs"]) == shape(repo["outputs"])
    assert [o.get("index") for o in deployed["outputs"]] == [o.get("index") for o in repo["outputs"]]
