"""`make trigger`, `make smoke`, `make ui-cluster` and `cluster info` reach the cluster through kubectl
port-forward. No cluster can run here: kubectl is stood in for (fake_kubectl.py), the services behind it are
real (an MLflow server with a registered model)."""

import http.server
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import ClassVar

import mlflow
import pytest
from charts import CHARTS, chart_values
from cryptography.fernet import Fernet
from mlflow import MlflowClient

from json_stand_in import JsonHandler
from mlflow_server import start_mlflow_server
from nivesh_contract.catalog import MODELS
from nivesh_contract.names import PRODUCTION
from nivesh_platform import cluster
from nivesh_platform.airflow_keys import AIRFLOW_KEYS
from nivesh_platform.embedded import PIPELINE_DAG_IDS
from nivesh_platform.services import free_port

PLATFORM = str(Path(sys.executable).parent / "nivesh-platform")
FAKE_KUBECTL = Path(__file__).parent / "fake_kubectl.py"
AIRFLOW = chart_values("airflow")["airflow"]
GRAFANA = chart_values("monitoring")["grafana"]


@pytest.fixture
def kubectl_path(tmp_path, monkeypatch) -> dict[str, str]:
    """PATH with the stand-in `kubectl` first, its Secrets in a file; the environment a subprocess needs for it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "kubectl").write_text(f'#!/bin/sh\nexec {sys.executable} {FAKE_KUBECTL} "$@"\n')
    (bin_dir / "kubectl").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_CLUSTER_SECRETS", str(tmp_path / "secrets.json"))
    return dict(os.environ)


def cluster_secrets(secrets: dict[str, dict[str, str]] | None = None) -> dict[str, dict[str, str]]:
    """The stand-in cluster's Secrets, replaced by `secrets` where given."""
    path = Path(os.environ["FAKE_CLUSTER_SECRETS"])
    if secrets is not None:
        path.write_text(json.dumps(secrets))
    return json.loads(path.read_text()) if path.exists() else {}


def test_without_the_cluster_make_trigger_says_how_to_create_it(kubectl_path):
    command = [PLATFORM, "cluster", "trigger", "master_training_pipeline", "--context", "kind-elsewhere"]
    completed = subprocess.run(command, capture_output=True, text=True, env=kubectl_path)
    assert completed.returncode == 2
    (line,) = completed.stderr.strip().splitlines()
    assert 'context "kind-elsewhere" does not exist' in line and "make kind-up && make deploy" in line


def test_without_airflow_deployed_the_port_forward_says_so(kubectl_path):
    completed = subprocess.run(
        [PLATFORM, "cluster", "trigger", "credit_risk_training"], capture_output=True, text=True, env=kubectl_path
    )
    assert completed.returncode == 2
    (line,) = completed.stderr.strip().splitlines()
    assert 'services "airflow-api-server" not found' in line and "make deploy" in line


def test_smoke_that_loses_airflow_s_api_server_says_so_in_one_line(kubectl_path, monkeypatch):
    """The port-forward is up, but nothing answers behind it: its connection drops, as when the API server's pod
    restarts or the forward dies during the hour smoke waits."""
    monkeypatch.setenv("FAKE_CLUSTER_SERVICES", json.dumps({cluster.AIRFLOW_SERVICE[0]: free_port()}))
    completed = subprocess.run([PLATFORM, "cluster", "smoke"], capture_output=True, text=True, env=dict(os.environ))
    assert completed.returncode == 2 and "Traceback" not in completed.stderr, completed.stderr[-3000:]
    (line,) = completed.stderr.strip().splitlines()
    assert line.startswith("nivesh-platform: error: lost the connection to Airflow's API server (") and (
        "make status, make ui-cluster" in line
    )


class _JustDeployedAirflow(JsonHandler):
    """Airflow's API right after `make deploy`: a DAG is unknown (404) until `unparsed` GETs have been answered."""

    unparsed = 0
    triggered: ClassVar[list[tuple[str, dict]]] = []

    def _body(self) -> dict:
        return json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")

    def do_POST(self):
        body = self._body()
        if self.path == "/auth/token":
            return self._answer(201, {"access_token": "t"})
        _JustDeployedAirflow.triggered.append((self.path, body))
        self._answer(200, {"dag_run_id": "manual__2026-12-07"})

    def do_GET(self):
        if _JustDeployedAirflow.unparsed > 0:
            _JustDeployedAirflow.unparsed -= 1
            return self._answer(404, {"detail": "DAG not found"})
        self._answer(200, {"dag_id": self.path.rsplit("/", 1)[-1], "is_paused": True})

    def do_PATCH(self):
        self._answer(200, {"is_paused": self._body()["is_paused"]})


@pytest.fixture
def just_deployed(kubectl_path, monkeypatch):
    _JustDeployedAirflow.triggered = []
    server = http.server.HTTPServer(("127.0.0.1", 0), _JustDeployedAirflow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("FAKE_CLUSTER_SERVICES", json.dumps({cluster.AIRFLOW_SERVICE[0]: server.server_port}))
    yield dict(os.environ)
    server.shutdown()


def test_trigger_right_after_deploy_waits_for_the_dags_to_be_parsed(just_deployed):
    _JustDeployedAirflow.unparsed = len(PIPELINE_DAG_IDS)  # a whole round of lookups finds none
    command = [PLATFORM, "cluster", "trigger", "credit_risk_training", "--conf", '{"force": true}']
    completed = subprocess.run(command, capture_output=True, text=True, env=just_deployed)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "waiting for Airflow to parse master_training_pipeline" in completed.stderr
    assert "triggered credit_risk_training run manual__2026-12-07" in completed.stdout
    assert _JustDeployedAirflow.triggered == [
        ("/api/v2/dags/credit_risk_training/dagRuns", {"logical_date": None, "conf": {"force": True}})
    ]


def test_trigger_where_the_dags_never_appear_says_where_to_look_in_one_line(just_deployed):
    _JustDeployedAirflow.unparsed = 10_000
    command = [PLATFORM, "cluster", "trigger", "credit_risk_training", "--parse-timeout", "1"]
    completed = subprocess.run(command, capture_output=True, text=True, env=just_deployed)
    assert completed.returncode == 2 and not _JustDeployedAirflow.triggered
    (line,) = [line for line in completed.stderr.splitlines() if "error" in line]
    assert "Airflow has not parsed master_training_pipeline" in line and "after 1 s" in line
    assert "kubectl -n nivesh-airflow logs deployment/airflow-dag-processor" in line


@pytest.mark.slow  # a real MLflow server: ~15-30 s
def test_smoke_reads_the_cluster_registry_through_a_port_forward_with_the_mlflow_login(
    kubectl_path, tmp_path, monkeypatch
):
    url, server = start_mlflow_server(tmp_path)
    try:
        client = MlflowClient(url, url)
        experiment = client.create_experiment("smoke")
        run = client.create_run(experiment)
        model = MODELS[0].name
        client.create_registered_model(model)
        version = client.create_model_version(model, f"runs:/{run.info.run_id}/model", run.info.run_id)
        client.set_registered_model_alias(model, PRODUCTION, version.version)
        port = int(url.rsplit(":", 1)[1])
        monkeypatch.setenv("FAKE_CLUSTER_SERVICES", json.dumps({"mlflow": port}))
        login = {"username": "admin", "password": "s3cret"}
        cluster_secrets({cluster.MLFLOW_AUTH_SECRET: login})
        rows = cluster.registry_rows(cluster.KUBE_CONTEXT)
    finally:
        server.stop()
        mlflow.set_tracking_uri(None)
    assert {row["model"]: row["production"] for row in rows} == {
        declared.name: 1 if declared.name == model else None for declared in MODELS
    }
    assert "MLFLOW_TRACKING_PASSWORD" not in os.environ, "the login is only lent for the call"


def test_info_says_where_alerts_go_and_how_to_send_them(kubectl_path):
    completed = subprocess.run([PLATFORM, "cluster", "info"], capture_output=True, text=True, env=dict(os.environ))
    assert completed.returncode == 0, completed.stderr
    assert "make ui-cluster" in completed.stdout and "Alerts: none configured" in completed.stdout
    assert f"Airflow {cluster.AIRFLOW_UI}, MLflow {cluster.MLFLOW_UI}/" in completed.stdout
    assert "kubectl -n nivesh-airflow create secret generic nivesh-alerts" in completed.stdout
    cluster_secrets({cluster.ALERTS_SECRET: {}})
    completed = subprocess.run([PLATFORM, "cluster", "info"], capture_output=True, text=True, env=dict(os.environ))
    assert "Alerts: the Slack and SMTP connections of Secret nivesh-alerts" in completed.stdout


def test_airflow_keys_and_grafana_s_login_are_made_once_and_kept_across_deploys(kubectl_path):
    command = [PLATFORM, "cluster", "secrets", "--root", str(CHARTS.parent)]
    first = subprocess.run(command, capture_output=True, text=True, env=kubectl_path)
    assert first.returncode == 0, first.stderr
    made = cluster_secrets()
    grafana = GRAFANA["admin"]
    login = made.pop(grafana["existingSecret"])
    assert login[grafana["userKey"]] == "admin" and len(login[grafana["passwordKey"]]) >= 24
    names = {AIRFLOW[key.value_name]: key.data_key for key in AIRFLOW_KEYS}
    assert {name: set(data) for name, data in made.items()} == {name: {key} for name, key in names.items()}
    Fernet(made[AIRFLOW["fernetKeySecretName"]]["fernet-key"])  # a valid fernet key
    assert len({data[names[name]] for name, data in made.items()}) == 3, "three different keys"
    assert [line.split()[0] for line in first.stdout.splitlines()] == ["created"] * 4
    assert login[grafana["passwordKey"]] not in first.stdout

    made[grafana["existingSecret"]] = login
    again = subprocess.run(command, capture_output=True, text=True, env=kubectl_path)
    assert again.returncode == 0, again.stderr
    assert cluster_secrets() == made, "a second make deploy replaces no key and no login"
    assert [line.split()[0] for line in again.stdout.splitlines()] == ["kept"] * 4


def test_without_the_cluster_no_key_is_made(kubectl_path):
    command = [PLATFORM, "cluster", "secrets", "--root", str(CHARTS.parent), "--context", "kind-elsewhere"]
    completed = subprocess.run(command, capture_output=True, text=True, env=kubectl_path)
    assert completed.returncode == 2 and 'context "kind-elsewhere" does not exist' in completed.stderr
    assert cluster_secrets() == {}


def _node(cpu: str, *taints: str) -> dict:
    return {
        "spec": {"taints": [{"key": key, "effect": "NoSchedule"} for key in taints]},
        "status": {"allocatable": {"cpu": cpu}},
    }


@pytest.mark.parametrize(
    ("nodes", "slots"),
    [
        # kind on a 4-core laptop: every node reports the host's cores; the control plane and the GPU pool are tainted
        ([_node("4", "node-role.kubernetes.io/control-plane"), _node("4"), _node("4", "nvidia.com/gpu")], 4),
        ([_node("3500m"), _node("2")], 5),
        ([_node("1500m")], 1),
        ([_node("8", "nvidia.com/gpu")], 1),  # nowhere for the CPU steps: still one slot, not a pool that never runs
    ],
)
def test_the_training_pool_has_a_slot_per_core_of_the_cpu_pool(nodes, slots):
    assert cluster.training_slots({"items": nodes}) == slots


@pytest.fixture
def answering_url():
    """A local HTTP server answering 200, as an Airflow or MLflow UI would."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answering)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_make_dashboards_forwards_grafana_names_each_board_and_how_to_log_in_until_ctrl_c(kubectl_path, answering_url):
    """Grafana stood in for by a server answering its health check, behind the stand-in kubectl's port-forward."""
    kubectl_path["FAKE_CLUSTER_SERVICES"] = json.dumps({cluster.GRAFANA_SERVICE[0]: int(answering_url.split(":")[-1])})
    port = free_port()
    command = [PLATFORM, "cluster", "dashboards", "--port", str(port), "--root", str(CHARTS.parent)]
    # started as a shell's background job is (CI's way): with SIGINT ignored, which the command must undo
    ignoring_sigint = lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)  # noqa: E731
    dashboards = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=kubectl_path, preexec_fn=ignoring_sigint
    )
    try:
        lines = [dashboards.stdout.readline() for _ in range(5)]
    finally:
        dashboards.send_signal(signal.SIGINT)
        out, err = dashboards.communicate(timeout=30)
    assert dashboards.returncode == 0, err
    assert lines[0].startswith(f"Grafana: http://127.0.0.1:{port}")
    for board in sorted((CHARTS / "monitoring" / "dashboards").glob("*.json")):
        assert f"  {json.loads(board.read_text())['title']}: http://127.0.0.1:{port}/d/{board.stem}\n" in lines
    assert "get secret nivesh-grafana-admin -n nivesh-monitoring" in lines[3] and "Ctrl-C" in lines[4]
    assert "stopped the port-forward to Grafana" in out


def test_make_dashboards_without_monitoring_deployed_says_so_in_one_line(kubectl_path):
    command = [PLATFORM, "cluster", "dashboards", "--port", str(free_port()), "--root", str(CHARTS.parent)]
    completed = subprocess.run(command, capture_output=True, text=True, env=kubectl_path, timeout=60)
    assert completed.returncode == 2
    (line,) = completed.stderr.strip().splitlines()
    assert 'services "monitoring-grafana" not found' in line and "make kind-up && make deploy" in line


class _Answering(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_ui_cluster_says_where_both_uis_answer_and_which_does_not(answering_url):
    command = [PLATFORM, "cluster", "ui", "--airflow-url", answering_url, "--mlflow-url", answering_url]
    completed = subprocess.run(command, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
    assert f"Airflow UI: {answering_url}  (admin / admin)" in completed.stdout
    closed = f"http://127.0.0.1:{free_port()}"
    completed = subprocess.run([*command[:-1], closed], capture_output=True, text=True)
    assert completed.returncode == 2
    (line,) = completed.stderr.strip().splitlines()
    assert f"MLflow does not answer at {closed} (ConnectError)" in line and "make kind-up && make deploy" in line
