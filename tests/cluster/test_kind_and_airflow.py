"""The kind cluster config, and our values for the official Airflow chart."""

import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import helm_python
import pytest
import typer
import yaml
from charts import CHARTS, chart_values, kind_config

import dag_files
from nivesh_pipelines.operator import TrainingStepOperator
from nivesh_platform import cli, cluster, cluster_cli
from nivesh_platform.chart_values import ChartValuesError, check_dependency_values, pinned_dependencies

AIRFLOW = chart_values("airflow")["airflow"]
PLATFORM = str(Path(sys.executable).parent / "nivesh-platform")


def test_kind_has_a_control_plane_a_cpu_worker_and_a_tainted_gpu_worker():
    nodes = kind_config()["nodes"]
    assert [node["role"] for node in nodes] == ["control-plane", "worker", "worker"]
    gpu = [node for node in nodes if node.get("labels", {}).get("nvidia.com/gpu.present") == "true"]
    assert len(gpu) == 1
    (patch,) = [yaml.safe_load(text) for text in gpu[0]["kubeadmConfigPatches"]]
    assert patch["kind"] == "JoinConfiguration"
    assert patch["nodeRegistration"]["taints"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}]


def test_kind_publishes_the_airflow_and_mlflow_node_ports_on_localhost():
    (control_plane,) = [node for node in kind_config()["nodes"] if node["role"] == "control-plane"]
    published = {m["containerPort"]: (m["hostPort"], m["listenAddress"]) for m in control_plane["extraPortMappings"]}
    airflow_node_port = AIRFLOW["apiServer"]["service"]["ports"][0]["nodePort"]
    mlflow_node_port = chart_values("mlflow")["server"]["service"]["nodePort"]
    assert published == {airflow_node_port: (30080, "127.0.0.1"), mlflow_node_port: (30500, "127.0.0.1")}
    assert (cluster.AIRFLOW_UI, cluster.MLFLOW_UI) == ("http://127.0.0.1:30080", "http://127.0.0.1:30500")
    base_url = {item["name"]: item["value"] for item in AIRFLOW["env"]}["AIRFLOW_VAR_NIVESH_AIRFLOW_BASE_URL"]
    assert base_url == cluster.AIRFLOW_UI, "versions link back to where a person opens the cluster's Airflow"


def test_the_cluster_s_ports_clear_make_ui_s_and_macos_airplay():
    (control_plane,) = [node for node in kind_config()["nodes"] if node["role"] == "control-plane"]
    published = {mapping["hostPort"] for mapping in control_plane["extraPortMappings"]}
    ui_defaults = {
        param.default for param in typer.main.get_command(cli.app).commands["ui"].params if "port" in param.name
    }
    assert ui_defaults == {8080, 5000, 9090, 9091}  # Airflow, MLflow, Prometheus, Pushgateway
    assert not published & (ui_defaults | {5000, 7000})
    dashboards = typer.main.get_command(cluster_cli.cluster_app).commands["dashboards"]
    (grafana,) = [param.default for param in dashboards.params if param.name == "port"]
    assert grafana not in published | ui_defaults | {5000, 7000}  # make ui and make dashboards can run at once


def test_finished_pods_stay_for_make_logs_within_a_bound_and_the_ui_reaches_the_scheduler_s_logs():
    (control_plane,) = [node for node in kind_config()["nodes"] if node["role"] == "control-plane"]
    (patch,) = [yaml.safe_load(text) for text in control_plane["kubeadmConfigPatches"]]
    assert patch["kind"] == "ClusterConfiguration"
    assert 100 <= int(patch["controllerManager"]["extraArgs"]["terminated-pod-gc-threshold"]) <= 1000
    # where a task ran is the scheduler pod's IP (its name does not resolve); the callable exists in this Airflow
    hostname = AIRFLOW["config"]["core"]["hostname_callable"]
    module, function = hostname.rsplit(".", 1)
    assert callable(getattr(importlib.import_module(module), function))


def test_every_worker_mounts_the_training_data_where_the_data_volume_expects_it():
    data_path = chart_values("nivesh-training")["data"]["hostPath"]
    for node in kind_config()["nodes"]:
        if node["role"] == "worker":
            assert node["extraMounts"] == [
                {"hostPath": "NIVESH_DATA_DIR", "containerPath": data_path, "readOnly": True}
            ], "make kind-up replaces NIVESH_DATA_DIR"


def test_airflow_values_set_what_the_dags_read():
    env = {item["name"]: item["value"] for item in AIRFLOW["env"]}
    assert env["NIVESH_LAUNCHER"] == "kubernetes"
    assert env["AIRFLOW_VAR_NIVESH_MLFLOW_TRACKING_URI"] == chart_values("nivesh-training")["mlflow"]["trackingUri"]
    assert env["AIRFLOW_VAR_NIVESH_DATA_ROOT"] == "/data"
    assert env["NIVESH_GPU_LIMIT"] == "false"  # kind's GPU pool has no GPUs
    assert env["NIVESH_APPROVALS"] == "true"  # credit risk waits for a person's approval before production
    (control_plane,) = [node for node in kind_config()["nodes"] if node["role"] == "control-plane"]
    node_port = AIRFLOW["apiServer"]["service"]["ports"][0]["nodePort"]
    (ui,) = [m for m in control_plane["extraPortMappings"] if m["containerPort"] == node_port]
    assert env["AIRFLOW_VAR_NIVESH_AIRFLOW_BASE_URL"] == f"http://{ui['listenAddress']}:{ui['hostPort']}"
    assert AIRFLOW["executor"] == "LocalExecutor" and AIRFLOW["postgresql"]["enabled"] is True
    assert AIRFLOW["airflowVersion"].startswith("3.3.")
    launchers = chart_values("nivesh-training")["launcher"]["serviceAccounts"]
    assert {"name": AIRFLOW["scheduler"]["serviceAccount"]["name"], "namespace": "nivesh-airflow"} in launchers


def test_the_official_charts_are_pinned():
    assert pinned_dependencies(CHARTS / "airflow") == [
        {"name": "airflow", "version": "1.22.0", "repository": "https://airflow.apache.org"}
    ]
    assert pinned_dependencies(CHARTS / "monitoring") == [
        {
            "name": "prometheus",
            "version": "27.19.0",
            "repository": "https://prometheus-community.github.io/helm-charts",
        },
        {"name": "grafana", "version": "8.8.2", "repository": "https://grafana.github.io/helm-charts"},
    ]


def _wrapper_with_a_fetched_chart(tmp_path: Path, documented: dict) -> Path:
    """charts/airflow as `helm dependency build` leaves it, with a stand-in chart documenting `documented`."""
    stand_in = tmp_path / "airflow"
    (stand_in / "templates").mkdir(parents=True)
    (stand_in / "Chart.yaml").write_text("apiVersion: v2\nname: airflow\nversion: 1.22.0\n")
    schema = {"type": "object", "additionalProperties": False, "properties": documented}
    (stand_in / "values.schema.json").write_text(json.dumps(schema))
    wrapper = tmp_path / "wrapper"
    shutil.copytree(CHARTS / "airflow", wrapper)
    (wrapper / "charts").mkdir(exist_ok=True)
    helm_python.package(stand_in, destination=wrapper / "charts")
    return wrapper


def test_values_that_the_chart_documents_pass(tmp_path):
    wrapper = _wrapper_with_a_fetched_chart(tmp_path, {key: {} for key in AIRFLOW})
    assert check_dependency_values(wrapper) == "airflow 1.22.0"


def test_an_undocumented_key_fails_deploy_naming_it(tmp_path):
    documented = {key: {} for key in AIRFLOW if key != "createUserJob"}
    wrapper = _wrapper_with_a_fetched_chart(tmp_path, documented)
    completed = subprocess.run([PLATFORM, "check-chart-values", str(wrapper)], capture_output=True, text=True)
    assert completed.returncode == 2
    assert "createUserJob" in completed.stderr and len(completed.stderr.strip().splitlines()) == 1


def test_an_unfetched_chart_says_how_to_fetch_it(tmp_path):
    wrapper = tmp_path / "wrapper"
    shutil.copytree(CHARTS / "airflow", wrapper, ignore=shutil.ignore_patterns("charts"))
    with pytest.raises(ChartValuesError, match="helm dependency build"):
        check_dependency_values(wrapper)


@pytest.mark.skipif(
    not (CHARTS / "airflow" / "charts" / "airflow-1.22.0.tgz").exists(),
    reason="the official chart is not fetched (helm repo add and helm dependency build: no chart repository here)",
)
def test_our_values_use_only_keys_the_pinned_official_chart_documents():
    assert check_dependency_values(CHARTS / "airflow") == "airflow 1.22.0"


@pytest.mark.parametrize(
    ("target", "first_missing"),
    [("kind-up", "docker"), ("deploy", "docker"), ("status", "kubectl"), ("logs", "kubectl"), ("kind-down", "kind")],
)
def test_cluster_targets_say_how_to_install_a_missing_tool(tmp_path, target, first_missing):
    make = shutil.which("make")
    completed = subprocess.run(
        [make, "--silent", "--old-file=.venv/.installed", target],
        cwd=CHARTS.parent,
        env={"PATH": str(tmp_path)},
        capture_output=True,
        text=True,
    )
    assert completed.returncode != 0
    assert f"make: {first_missing} not found: install" in completed.stderr and "https://" in completed.stderr


@pytest.mark.parametrize("chart", ["airflow", "monitoring"])
def test_the_committed_lock_matches_chart_yaml_for_the_real_helm(tmp_path, chart):
    """`helm dependency build` refuses a lock out of sync with Chart.yaml before it fetches anything."""
    wrapper = tmp_path / chart
    shutil.copytree(CHARTS / chart, wrapper, ignore=shutil.ignore_patterns("charts"))
    lock = yaml.safe_load((wrapper / "Chart.lock").read_text())
    pinned = pinned_dependencies(wrapper)
    assert [{key: d[key] for key in ("name", "version", "repository")} for d in lock["dependencies"]] == pinned
    try:
        helm_python.dependency_build(wrapper)
    except helm_python.HelmRepoError as error:  # no chart repository here: it got as far as fetching
        assert "out of sync" not in str(error)
    version = pinned[0]["version"]
    (wrapper / "Chart.yaml").write_text((wrapper / "Chart.yaml").read_text().replace(version, f"{version}-1"))
    with pytest.raises(helm_python.HelmRepoError, match="out of sync"):
        helm_python.dependency_build(wrapper)


def test_third_party_images_are_every_image_our_values_and_the_training_pods_name_and_nothing_else():
    completed = subprocess.run([PLATFORM, "images", "--third-party"], cwd=CHARTS.parent, capture_output=True, text=True)
    mlflow, monitoring = chart_values("mlflow"), chart_values("monitoring")
    prometheus = monitoring["prometheus"]
    named = {
        "{repository}:{tag}".format(**mlflow["server"]["image"]),
        "{repository}:{tag}".format(**mlflow["postgresql"]["image"]),
        "{registry}/{repository}:{tag}".format(**AIRFLOW["postgresql"]["image"]),
        "{repository}:{tag}".format(**AIRFLOW["images"]["statsd"]),  # the chart's StatsD exporter
        "{repository}:{tag}".format(**prometheus["server"]["image"]),
        "{repository}:{tag}".format(**prometheus["configmapReload"]["prometheus"]["image"]),
        "{repository}:{tag}".format(**prometheus["prometheus-pushgateway"]["image"]),
        "{registry}/{repository}:{tag}".format(**monitoring["grafana"]["image"]),
        "{repository}:{tag}".format(**chart_values("nivesh-serving")["router"]),  # a staged rollout's nginx
    }
    sidecars = {  # what the operator adds to every training pod (its XCom sidecar), read from the DAGs' pods
        container.image
        for dag in dag_files.dagbag().dags.values()
        for task in dag.tasks
        if isinstance(task, TrainingStepOperator)
        for container in task.build_pod_request_obj(dry_run=True).spec.containers
        if not container.image.startswith("nivesh/")
    }
    assert sidecars and set(completed.stdout.split()) == named | sidecars


def test_task_logs_live_on_one_claim_of_ours_not_the_chart_s_per_component_claims():
    """kind's default StorageClass (local-path) gives ReadWriteOnce volumes on one node, their directory made with
    mode 0777 (kind's pkg/build/nodeimage/const_storage.go): the chart's own logs claim asks ReadWriteMany, and
    with worker persistence the scheduler and triggerer would get a 100Gi claim each. Ours is rendered and checked
    with the chart in tests/cluster/test_deploy_check.py."""
    assert AIRFLOW["executor"] == "LocalExecutor"
    assert AIRFLOW["workers"]["persistence"]["enabled"] is False
    assert AIRFLOW["triggerer"]["persistence"]["enabled"] is False
    assert AIRFLOW["logs"]["persistence"] == {"enabled": True, "existingClaim": "airflow-task-logs"}


def test_the_alert_connections_come_from_an_optional_secret():
    (source,) = yaml.safe_load(AIRFLOW["extraEnvFrom"])
    assert source == {"secretRef": {"name": "nivesh-alerts", "optional": True}}
