"""Launcher `local`: the pod's own command, arguments and environment, run as a local process."""

import logging
import sys
import textwrap

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException
from kubernetes.client import models as k8s

from nivesh_pipelines.catalog import ModelSpec, Step
from nivesh_pipelines.exit_codes import terminated_exit_code
from nivesh_pipelines.launchers import run_pod_locally
from nivesh_pipelines.operator import TrainingStepOperator, selected_launcher
from nivesh_pipelines.pod_spec import environment

log = logging.getLogger("test")

WRITE_RESULT = textwrap.dedent("""
    import json, os, sys
    code = int(sys.argv[1])
    result = {"argv": sys.argv[1:], "env": dict(os.environ), "error": "bad column x" if code else None}
    with open(os.path.join(os.environ["NIVESH_XCOM_DIR"], "return.json"), "w") as handle:
        json.dump(result, handle)
    print("progress: done", file=sys.stderr)
    sys.exit(code)
""")


def pod(exit_code: int, env: list[k8s.V1EnvVar] | None = None) -> k8s.V1Pod:
    container = k8s.V1Container(
        name="base",
        image="nivesh/x:0.1.0",
        command=[sys.executable, "-c", WRITE_RESULT],
        args=[str(exit_code)],
        env=env or [k8s.V1EnvVar(name="MLFLOW_TRACKING_URI", value="sqlite:///m.db")],
    )
    return k8s.V1Pod(metadata=k8s.V1ObjectMeta(name="x-train-model"), spec=k8s.V1PodSpec(containers=[container]))


def toy_model(console_script: str) -> ModelSpec:
    return ModelSpec(
        dag_id="toy",
        registered_name="toy",
        image_name="toy",
        console_script=console_script,
        schedule="@weekly",
        data_file="toy.csv",
        description="",
        steps=(),
    )


def terminated_pod(exit_code: int) -> k8s.V1Pod:
    """A pod as the API server reports it once its base container has exited."""
    state = k8s.V1ContainerState(terminated=k8s.V1ContainerStateTerminated(exit_code=exit_code))
    status = k8s.V1ContainerStatus(name="base", image="i", image_id="", ready=False, restart_count=0, state=state)
    return k8s.V1Pod(status=k8s.V1PodStatus(container_statuses=[status]))


def test_runs_the_pod_command_with_its_environment_only(monkeypatch):
    monkeypatch.setenv("HOST_SECRET", "must-not-leak")
    result = run_pod_locally(pod(0), log)
    assert result["argv"] == ["0"]
    assert result["env"]["MLFLOW_TRACKING_URI"] == "sqlite:///m.db"
    assert "HOST_SECRET" not in result["env"]
    assert result["env"]["NIVESH_XCOM_DIR"] != "/airflow/xcom"


def test_step_output_reaches_the_task_log(caplog):
    with caplog.at_level(logging.INFO, logger="test"):
        run_pod_locally(pod(0), log)
    assert "progress: done" in caplog.text


@pytest.mark.parametrize("exit_code", [2, 3])
def test_bad_input_and_gate_failures_are_not_retried(exit_code):
    with pytest.raises(AirflowFailException, match="bad column x"):
        run_pod_locally(pod(exit_code), log)


def test_other_failures_are_retried():
    with pytest.raises(AirflowException) as raised:
        run_pod_locally(pod(1), log)
    assert not isinstance(raised.value, AirflowFailException)


def test_env_from_secrets_cannot_be_faked_locally():
    secret = k8s.V1EnvVar(
        name="TOKEN", value_from=k8s.V1EnvVarSource(secret_key_ref=k8s.V1SecretKeySelector(name="s", key="k"))
    )
    with pytest.raises(ValueError, match="TOKEN"):
        run_pod_locally(pod(0, env=[secret]), log)


def test_operator_runs_the_pod_it_builds(monkeypatch):
    monkeypatch.setenv("NIVESH_LAUNCHER", "local")
    spec = toy_model(console_script=sys.executable)
    operator = TrainingStepOperator(model=spec, step=Step("train_model", "-c", (WRITE_RESULT, "0")))
    result = operator.execute(context=None)
    assert result["argv"] == ["0"]
    assert result["env"]["MLFLOW_TRACKING_URI"] == environment()["MLFLOW_TRACKING_URI"]


def test_unknown_launcher_is_refused(monkeypatch):
    monkeypatch.setenv("NIVESH_LAUNCHER", "ssh")
    with pytest.raises(ValueError, match="expected one of kubernetes, local"):
        selected_launcher()


def test_exit_code_is_read_from_the_pod_status():
    assert terminated_exit_code(terminated_pod(3), "base") == 3
    assert terminated_exit_code(None, "base") is None


@pytest.mark.parametrize(("exit_code", "retried"), [(2, False), (3, False), (1, True), (137, True)])
def test_kubernetes_launcher_maps_exit_codes_the_same_way(monkeypatch, exit_code, retried):
    """No cluster here: the base class's cleanup is replaced by what it does for a failed pod (raise)."""
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

    def failed_pod_cleanup(self, pod, remote_pod, xcom_result=None, context=None):
        raise AirflowException(f"Pod {pod.metadata.name} returned a failure.")

    monkeypatch.setattr(KubernetesPodOperator, "cleanup", failed_pod_cleanup)
    spec = toy_model(console_script="nivesh-toy")
    operator = TrainingStepOperator(model=spec, step=Step("train_model", "train"))
    with pytest.raises(AirflowException) as raised:
        operator.cleanup(pod(exit_code), terminated_pod(exit_code), xcom_result={"error": "bad column x"})
    assert isinstance(raised.value, AirflowFailException) is not retried
