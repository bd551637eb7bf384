"""Launcher `docker`: the `docker run` that stands for the pod the real operator builds."""

import logging
import stat
import sys
import textwrap

import pytest
from airflow.sdk import DAG

from nivesh_contract.catalog import model_named
from nivesh_pipelines.docker_launcher import claim_dirs_from, docker_run_command, image_digest, run_pod_in_docker
from nivesh_pipelines.operator import TrainingStepOperator, selected_launcher
from nivesh_pipelines.pod_spec import DATA_CLAIM, PREDICTIONS_CLAIM
from nivesh_pipelines.steps import pipeline_steps, rollout_evaluation_step

CREDIT_RISK, INTENT, ANOMALY = (
    model_named(name) for name in ("credit_risk_scorer", "intent_classifier", "anomaly_detector")
)
DATA_DIRS = {DATA_CLAIM: "/srv/data"}
log = logging.getLogger("test")


def built_pod(model, task_id: str):
    step = next(step for step in pipeline_steps(model) if step.task_id == task_id)
    with DAG(model.dag_id, schedule=None):
        operator = TrainingStepOperator(step=step, model=model.name)
    return operator.build_pod_request_obj(dry_run=True), step


def pairs(command: list[str], option: str) -> list[str]:
    return [command[i + 1] for i, part in enumerate(command) if part == option]


def test_the_container_is_the_pods_base_container():
    pod, step = built_pod(CREDIT_RISK, "train_model")
    command = docker_run_command(pod, "/tmp/xcom-1", {DATA_CLAIM: "/srv/nivesh-data"})
    image_at = command.index("nivesh/credit-risk:0.1.0")
    assert command[:3] == ["docker", "run", "--rm"]
    assert pairs(command, "--entrypoint") == ["nivesh-credit-risk"]
    assert command[image_at + 1 :] == [step.subcommand, *step.arguments]
    environment = dict(value.split("=", 1) for value in pairs(command, "--env"))
    assert environment["NIVESH_XCOM_DIR"] == "/airflow/xcom" and "MLFLOW_TRACKING_URI" in environment
    assert pairs(command, "--volume") == ["/tmp/xcom-1:/airflow/xcom", "/srv/nivesh-data:/data:ro"]
    assert pairs(command, "--tmpfs") == ["/tmp:exec,mode=1777"]
    assert pairs(command, "--network") == ["host"]  # an MLflow server on 127.0.0.1 is reached as from the host
    assert environment["NIVESH_IMAGE"] == "nivesh/credit-risk:0.1.0" and environment["NIVESH_LAUNCHER"] == "docker"
    assert "NIVESH_IMAGE_DIGEST" not in environment, "no digest unless the engine gave one"


def test_the_image_id_the_engine_reports_reaches_the_step(tmp_path):
    pod, _ = built_pod(CREDIT_RISK, "train_model")
    digest = "sha256:" + "0f" * 32
    command = docker_run_command(pod, "/tmp/x", DATA_DIRS, image_digest=digest)
    environment = dict(value.split("=", 1) for value in pairs(command, "--env"))
    assert environment["NIVESH_IMAGE_DIGEST"] == digest
    assert command.index("--env") < command.index("nivesh/credit-risk:0.1.0"), "options before the image"
    assert image_digest("nivesh/credit-risk:0.1.0", docker=str(tmp_path / "no-docker")) is None


def test_the_pods_security_context_and_labels_carry_over():
    pod, _ = built_pod(CREDIT_RISK, "evaluate_model")
    command = docker_run_command(pod, "/tmp/x", DATA_DIRS)
    assert pairs(command, "--user") == ["10001:10001"] and "--read-only" in command
    assert pairs(command, "--cap-drop") == ["ALL"] and pairs(command, "--security-opt") == ["no-new-privileges"]
    assert "nivesh.ai/model=credit_risk_scorer" in pairs(command, "--label")
    assert "nivesh.ai/step=evaluate_model" in pairs(command, "--label")


def test_the_gpu_limit_becomes_gpus_and_the_setting_drops_it(monkeypatch):
    pod, _ = built_pod(INTENT, "train_model")
    assert pairs(docker_run_command(pod, "/tmp/x", DATA_DIRS), "--gpus") == ["1"]
    monkeypatch.setenv("NIVESH_GPU_LIMIT", "false")
    pod, _ = built_pod(INTENT, "train_model")
    assert "--gpus" not in docker_run_command(pod, "/tmp/x", DATA_DIRS)


def test_the_data_claim_needs_a_host_directory():
    pod, _ = built_pod(CREDIT_RISK, "validate_data")
    with pytest.raises(ValueError, match="nivesh-training-data at /data: set NIVESH_DOCKER_DATA_DIR"):
        docker_run_command(pod, "/tmp/x", {})


def test_a_rollouts_evaluation_mounts_the_prediction_logs_from_their_own_host_directory():
    with DAG(ANOMALY.rollout_dag_id, schedule=None):
        operator = TrainingStepOperator(step=rollout_evaluation_step(ANOMALY), model=ANOMALY.name)
    pod = operator.build_pod_request_obj(dry_run=True)
    with pytest.raises(ValueError, match="nivesh-prediction-logs at /predictions: set NIVESH_DOCKER_PREDICTIONS_DIR"):
        docker_run_command(pod, "/tmp/x", DATA_DIRS)
    environment = {"NIVESH_DOCKER_DATA_DIR": "/srv/data", "NIVESH_DOCKER_PREDICTIONS_DIR": "/srv/answers"}
    assert claim_dirs_from(environment) == {DATA_CLAIM: "/srv/data", PREDICTIONS_CLAIM: "/srv/answers"}
    command = docker_run_command(pod, "/tmp/x", claim_dirs_from(environment))
    assert pairs(command, "--volume")[1:] == ["/srv/data:/data:ro", "/srv/answers:/predictions:ro"]


def test_docker_is_a_launcher(monkeypatch):
    monkeypatch.setenv("NIVESH_LAUNCHER", "docker")
    assert selected_launcher() == "docker"


# A stand-in for the docker client (no engine in CI): it reports an image id, writes the XCom result into the
# mounted dir, prints its arguments and exits with the code the step would.
IMAGE_ID_HEX = "5e" * 32
FAKE_DOCKER = textwrap.dedent(f"""\
    #!{sys.executable}
    import json, sys
    arguments = sys.argv[1:]
    if arguments[:2] == ["image", "inspect"]:
        print("sha256:{IMAGE_ID_HEX}")
        sys.exit(0)
    mounts = [arguments[i + 1] for i, argument in enumerate(arguments) if argument == "--volume"]
    host_dir = next(mount for mount in mounts if mount.endswith(":/airflow/xcom")).rsplit(":", 1)[0]
    with open(host_dir + "/return.json", "w") as handle:
        json.dump({{"status": "gate_failed", "args": arguments}}, handle)
    print("step output line")
    sys.exit(3)
""")


def test_run_streams_the_output_and_returns_exit_code_and_result(tmp_path, monkeypatch, caplog):
    docker = tmp_path / "docker"
    docker.write_text(FAKE_DOCKER)
    docker.chmod(docker.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("NIVESH_DOCKER", str(docker))
    monkeypatch.setenv("NIVESH_DOCKER_DATA_DIR", str(tmp_path))
    pod, _ = built_pod(CREDIT_RISK, "evaluate_model")
    with caplog.at_level(logging.INFO, logger="test"):
        exit_code, result = run_pod_in_docker(pod, log)
    assert exit_code == 3 and result["status"] == "gate_failed"
    assert result["args"][:2] == ["run", "--rm"] and "nivesh/credit-risk:0.1.0" in result["args"]
    assert f"NIVESH_IMAGE_DIGEST=sha256:{IMAGE_ID_HEX}" in result["args"], "the engine's image id, passed on"
    assert "step output line" in caplog.text and "launcher docker: pod credit-risk-scorer-evaluate-model" in caplog.text
