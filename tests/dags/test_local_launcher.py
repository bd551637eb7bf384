"""Launcher `local`: the pod's own command, arguments and environment, run as a local process."""

import logging
import sys
import textwrap
from types import SimpleNamespace

import pytest
from airflow.sdk import DAG
from airflow.sdk.exceptions import AirflowException, AirflowFailException
from kubernetes.client import models as k8s

from nivesh_pipelines.exit_codes import terminated_exit_code
from nivesh_pipelines.local_launcher import run_pod_locally
from nivesh_pipelines.operator import FAILED_STEP_RESULT, TrainingStepOperator, selected_launcher
from nivesh_pipelines.pod_spec import environment
from nivesh_pipelines.steps import Step

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


def toy_operator(console_script: str, subcommand: str, *arguments: str) -> TrainingStepOperator:
    # Any program as the image's entrypoint: the Python running the tests, or a fake console script.
    image = SimpleNamespace(ref="nivesh/toy:0.1.0", console_script=console_script)
    step = Step("train_model", subcommand, image, arguments)
    with DAG("toy", schedule=None):
        return TrainingStepOperator(step=step, model="toy")


def toy_context(operator: TrainingStepOperator, ti: "RecordingTaskInstance") -> dict:
    return {"ti": ti, "run_id": "manual__1", "dag": operator.dag}


class RecordingTaskInstance:
    """What the pod builder reads from a task instance, and the XComs pushed to it."""

    dag_id, task_id, map_index, try_number = "toy", "train_model", -1, 1

    def __init__(self):
        self.pushed = {}

    def xcom_push(self, key, value):
        self.pushed[key] = value


def terminated_pod(exit_code: int) -> k8s.V1Pod:
    """A pod as the API server reports it once its base container has exited."""
    state = k8s.V1ContainerState(terminated=k8s.V1ContainerStateTerminated(exit_code=exit_code))
    status = k8s.V1ContainerStatus(name="base", image="i", image_id="", ready=False, restart_count=0, state=state)
    return k8s.V1Pod(status=k8s.V1PodStatus(container_statuses=[status]))


def test_runs_the_pod_command_with_its_environment_only(monkeypatch):
    monkeypatch.setenv("HOST_SECRET", "must-not-leak")
    exit_code, result = run_pod_locally(pod(0), log)
    assert exit_code == 0
    assert result["argv"] == ["0"]
    assert result["env"]["MLFLOW_TRACKING_URI"] == "sqlite:///m.db"
    assert "HOST_SECRET" not in result["env"]
    assert result["env"]["NIVESH_XCOM_DIR"] != "/airflow/xcom"


def test_step_output_reaches_the_task_log(caplog):
    with caplog.at_level(logging.INFO, logger="test"):
        run_pod_locally(pod(0), log)
    assert "progress: done" in caplog.text


def test_exit_code_and_result_come_back_as_the_pod_gives_them():
    exit_code, result = run_pod_locally(pod(3), log)
    assert (exit_code, result["error"]) == (3, "bad column x")


@pytest.mark.parametrize("exit_code", [2, 3])
def test_bad_input_and_gate_failures_are_not_retried_and_keep_their_result(monkeypatch, exit_code):
    monkeypatch.setenv("NIVESH_LAUNCHER", "local")
    operator = toy_operator(sys.executable, "-c", WRITE_RESULT, str(exit_code))
    ti = RecordingTaskInstance()
    with pytest.raises(AirflowFailException, match="bad column x"):
        operator.execute(context=toy_context(operator, ti))
    assert ti.pushed[FAILED_STEP_RESULT]["error"] == "bad column x"


def test_other_failures_are_retried(monkeypatch):
    monkeypatch.setenv("NIVESH_LAUNCHER", "local")
    operator = toy_operator(sys.executable, "-c", WRITE_RESULT, "1")
    with pytest.raises(AirflowException) as raised:
        operator.execute(context=toy_context(operator, RecordingTaskInstance()))
    assert not isinstance(raised.value, AirflowFailException)


def test_env_from_secrets_cannot_be_faked_locally():
    secret = k8s.V1EnvVar(
        name="TOKEN", value_from=k8s.V1EnvVarSource(secret_key_ref=k8s.V1SecretKeySelector(name="s", key="k"))
    )
    with pytest.raises(ValueError, match="TOKEN"):
        run_pod_locally(pod(0, env=[secret]), log)


def test_operator_runs_the_pod_it_builds(monkeypatch):
    monkeypatch.setenv("NIVESH_LAUNCHER", "local")
    operator = toy_operator(sys.executable, "-c", WRITE_RESULT, "0")
    result = operator.execute(context=None)
    assert result["argv"] == ["0"]
    assert result["env"]["MLFLOW_TRACKING_URI"] == environment("nivesh/toy:0.1.0")["MLFLOW_TRACKING_URI"]
    # The pod's image is named, and the launcher says that no image ran.
    assert result["env"]["NIVESH_IMAGE"] == "nivesh/toy:0.1.0" and result["env"]["NIVESH_LAUNCHER"] == "local"


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
    operator = toy_operator("nivesh-toy", "train")
    with pytest.raises(AirflowException) as raised:
        operator.cleanup(pod(exit_code), terminated_pod(exit_code), xcom_result={"error": "bad column x"}, context=None)
    assert isinstance(raised.value, AirflowFailException) is not retried
