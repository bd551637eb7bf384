"""charts/nivesh-serving rendered by the real Helm engine: each model's servers and a staged model's split, as the
declarations say (its hourly evaluation is an Airflow DAG: tests/dags/test_rollout_dag.py)."""

import pytest
from charts import CHARTS, chart_values, find, render

from nivesh_contract.catalog import MODELS, model_named
from nivesh_pipelines.pod_spec import PREDICTIONS_CLAIM
from nivesh_platform.charts import pod_specs
from nivesh_platform.pod_security import restricted_violations
from nivesh_platform.rollout_router import cluster_config

NAMESPACE = "nivesh-training"
FILES = CHARTS / "nivesh-serving" / "files"


@pytest.fixture(scope="module")
def serving():
    return render("nivesh-serving", name="nivesh-serving", namespace=NAMESPACE)


def test_the_committed_router_configs_are_what_the_declarations_build():
    staged = {model.name for model in MODELS if model.rollout.staged}
    assert {path.name for path in FILES.glob("*.nginx.conf")} == {f"{name}.nginx.conf" for name in staged}
    for name in staged:
        assert (FILES / f"{name}.nginx.conf").read_text() == cluster_config(name, model_named(name).rollout), (
            f"{name}: make router-configs"
        )


def test_the_served_models_are_the_declared_ones():
    values = chart_values("nivesh-serving")["models"]
    for entry in values:
        model = model_named(entry["name"])
        assert (entry["image"], entry["command"]) == (model.image.name, model.image.console_script)
        assert entry["staged"] == model.rollout.staged
    assert {m.name for m in MODELS if m.rollout.staged} <= {entry["name"] for entry in values}


def test_a_staged_model_has_both_servers_following_their_alias_and_the_app_calls_the_split(serving):
    for alias in ("production", "staging"):
        (container,) = find(serving, "Deployment", f"anomaly-detector-{alias}")["spec"]["template"]["spec"][
            "containers"
        ]
        assert container["image"] == "nivesh/anomaly:0.1.0"
        assert container["args"][:2] == ["serve", alias] and container["args"][-2:] == ["--follow-every", "30"]
        assert container["readinessProbe"]["httpGet"]["path"] == "/ping"
        annotations = find(serving, "Deployment", f"anomaly-detector-{alias}")["spec"]["template"]["metadata"][
            "annotations"
        ]
        assert annotations == {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": "8080",
            "prometheus.io/path": "/metrics",
        }
        env = {item["name"]: item["valueFrom"] for item in container["env"]}
        assert env["MLFLOW_TRACKING_PASSWORD"]["secretKeyRef"]["name"] == "nivesh-mlflow-credentials"
    config = find(serving, "ConfigMap", "anomaly-detector-router")["data"]["nginx.conf"]
    assert config == cluster_config("anomaly_detector", model_named("anomaly_detector").rollout)
    assert "10% staging;" in config and "server anomaly-detector-production:8080 backup;" in config
    app = find(serving, "Service", "anomaly-detector")
    assert app["spec"]["selector"] == {"nivesh.ai/model": "anomaly_detector", "nivesh.ai/serving": "router"}
    claim = find(serving, "PersistentVolumeClaim", "nivesh-prediction-logs")
    assert claim["metadata"]["name"] == PREDICTIONS_CLAIM, "the rollout DAG's evaluation pod mounts this claim"


def test_a_direct_model_is_its_production_server_alone():
    entry = {"name": "credit_risk_scorer", "image": "credit-risk", "command": "nivesh-credit-risk", "staged": False}
    manifests = render("nivesh-serving", {"models": [entry]}, name="nivesh-serving", namespace=NAMESPACE)
    assert {(m["kind"], m["metadata"]["name"]) for m in manifests if m["kind"] == "Deployment"} == {
        ("Deployment", "credit-risk-scorer-production")
    }
    app = find(manifests, "Service", "credit-risk-scorer")
    assert app["spec"]["selector"]["nivesh.ai/serving"] == "production"


def test_every_pod_meets_pod_security_restricted_and_the_logs_claim_is_one_node_s(serving):
    specs = [spec for manifest in serving for spec in pod_specs(manifest)]
    assert len(specs) == 3  # production, staging, router
    assert [finding for spec in specs for finding in restricted_violations(spec)] == []
    claim = find(serving, "PersistentVolumeClaim", "nivesh-prediction-logs")
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert claim["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
