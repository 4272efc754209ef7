"""deploy/: the Kubernetes manifests validate against Kubernetes's schemas and hold together (the
node's flags exist, the probes ask paths the node serves, selectors match), and the Grafana
dashboard asks only for metrics the nodes export (its queries run against a real Prometheus in
test_prometheus.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from convergent import metrics
from convergent.cli import resolve_options
from deploy_support import DEPLOY, dashboard_queries

KUBERNETES_VERSION = "1.30.0"  # a release that kubernetes-validate has the schemas of


def _manifests() -> dict[str, dict[str, Any]]:
    out = {}
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            out[doc["kind"]] = doc
    return out


@pytest.mark.parametrize(
    "path", sorted((DEPLOY / "kubernetes").glob("*.yaml")), ids=lambda p: p.name
)
def test_each_manifest_validates_against_the_kubernetes_schema(path: Path) -> None:
    for doc in yaml.safe_load_all(path.read_text()):
        if doc["kind"] == "Kustomization":  # not a resource of the API server
            assert set(doc["resources"]) == {
                p.name for p in (DEPLOY / "kubernetes").glob("*.yaml") if p != path
            }
            continue
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_a_manifest_that_is_wrong_is_refused() -> None:
    """The validator is not a formality: a misspelled field fails it."""
    statefulset = _manifests()["StatefulSet"]
    bad = json.loads(json.dumps(statefulset))
    container = bad["spec"]["template"]["spec"]["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")  # a valid probe, misspelled
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, KUBERNETES_VERSION, strict=True)


def test_the_statefulset_runs_a_node_the_cli_accepts_with_the_probes_it_serves() -> None:
    m = _manifests()
    service, statefulset, budget = m["Service"], m["StatefulSet"], m["PodDisruptionBudget"]
    pod = statefulset["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    env = {"POD_NAME": "convergent-0", "POD_NAMESPACE": "db", "POD_IP": "10.1.2.3"}
    assert {e["name"] for e in container["env"]} == set(env)
    args = [re.sub(r"\$\((\w+)\)", lambda g: env[g.group(1)], a) for a in container["args"]]
    node, config, _ = resolve_options(["node", *args])  # every flag exists and its value parses
    assert node["listen"] == "tls+tcp://10.1.2.3:7000"
    assert node["seeds"] == ["tls+tcp://convergent.db.svc.cluster.local:7000"]
    assert node["name"] == "convergent-0"
    assert config.snapshot_dir == "/var/lib/convergent" and config.min_members == 2
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert node["metrics_listen"] == f"http://0.0.0.0:{ports['metrics']}"
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "metrics"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/live", "port": "metrics"}
    mounts = {v["name"]: v["mountPath"] for v in container["volumeMounts"]}
    assert node["tls_cert_file"].startswith(mounts["tls"] + "/")
    assert config.snapshot_dir == mounts["data"]
    # The headless service names the pods (also before they are ready: they seed from it).
    assert statefulset["spec"]["serviceName"] == service["metadata"]["name"]
    assert service["spec"]["clusterIP"] == "None" and service["spec"]["publishNotReadyAddresses"]
    labels = pod["metadata"]["labels"]
    for selector in (service["spec"]["selector"], budget["spec"]["selector"]["matchLabels"]):
        assert selector.items() <= labels.items()
    assert {p["port"] for p in service["spec"]["ports"]} == set(ports.values())


def test_the_dashboard_asks_only_for_metrics_the_nodes_export() -> None:
    exported = {info.prometheus for info in metrics.catalog()}
    queries = dashboard_queries()
    assert len(queries) >= 10
    for query in queries:
        names = set(re.findall(r"\bconvergent_[a-z_]+", query))
        assert names and names <= exported, (query, names - exported)
