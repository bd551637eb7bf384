"""Launcher `kubernetes`: real DAGs' TrainingStepOperators run their pods against a stateful Kubernetes API (kmock):
each step of the anomaly DAG and intent's training step (the GPU node's), to success; validation to each failure.

The test plays the node: it moves the pod the operator created through the states a cluster reports (Pending on
creation, Running, the step's exit, the sidecar's exit) by patching the pod's status through the API. kmock serves
no pod exec, the websocket through which the provider reads /airflow/xcom/return.json and then stops the XCom
sidecar, so only those two exec calls (PodManager.extract_xcom_json and extract_xcom_kill) are replaced: the read
returns the step's result, the kill stops the sidecar as the node would. All else is the operator's own API traffic.
kmock ignores label selectors, so each test has its own server holding one pod. `execute` renders no templates (the
task runner does): the pod's environment is compared with pod_spec's as declared.
"""

import asyncio
import copy
import json
import threading
import time
from concurrent.futures import Future
from datetime import UTC, datetime

import kmock
import pytest
from airflow.providers.cncf.kubernetes.utils.pod_manager import PodManager
from airflow.sdk.exceptions import AirflowException, AirflowFailException
from kubernetes import client

import dag_files
from nivesh_contract.catalog import model_named
from nivesh_contract.results import Status
from nivesh_pipelines import pod_spec
from nivesh_pipelines.local_launcher import BASE_CONTAINER
from nivesh_pipelines.operator import FAILED_STEP_RESULT
from nivesh_pipelines.steps import pipeline_steps

MODEL = model_named("anomaly_detector")
STEP = next(step for step in pipeline_steps(MODEL) if step.task_id == "validate_data")
# Every step of one model DAG (the drift check in the drift image, the train step with its training resources), and
# the one step that asks for a GPU node (intent's training: node selector, toleration, GPU limit).
INTENT = model_named("intent_classifier")
EVERY_POD = [(MODEL, step) for step in pipeline_steps(MODEL)] + [
    (INTENT, step) for step in pipeline_steps(INTENT) if step.gpu
]
SIDECAR = "airflow-xcom-sidecar"
PODS = kmock.resource("v1", "pods")
LOG_LINE = b"2026-12-05T10:00:00Z validated 1200 rows\n"
# Generous for a busy CI machine: a run that hangs fails its test after this long instead of blocking it.
TIMEOUT_S = 30
POLL_S = 0.05

pytestmark = pytest.mark.timeout(3 * TIMEOUT_S)
serialized = client.ApiClient().sanitize_for_serialization


@pytest.fixture
def api_server():
    """kmock's Kubernetes emulator on a local port, served from its own event loop in a background thread."""
    started, logs_followed = threading.Event(), threading.Event()
    served = {"logs_followed": logs_followed}

    async def serve():
        async with kmock.KubernetesEmulator() as emulator, kmock.Server(emulator) as server:

            def pending(request: kmock.Request) -> dict:
                """As the API server does: a new pod is Pending until a node reports on it."""
                pod = emulator.objects[PODS, request.namespace, request.data["metadata"]["name"]]
                pod.patch({"status": {"phase": "Pending"}})
                return pod.raw

            emulator[kmock.action.CREATE, PODS] << pending
            emulator["get", kmock.subresource("log")] << LOG_LINE >> logs_followed
            emulator[kmock.action.LIST, kmock.resource("v1", "events")] << {"items": []}
            served.update(emulator=emulator, url=str(server.url).rstrip("/"), loop=asyncio.get_running_loop())
            served["stop"] = asyncio.Event()
            started.set()
            await served["stop"].wait()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    assert started.wait(TIMEOUT_S), "kmock did not start"
    yield served
    served["loop"].call_soon_threadsafe(served["stop"].set)
    thread.join(TIMEOUT_S)


class Node:
    """What the kubelet reports through pods/status: the pod's phase and its two containers' states."""

    def __init__(self, url: str) -> None:
        self.api = client.CoreV1Api(client.ApiClient(client.Configuration(host=url)))
        self.exit_code: int | None = None
        self.execution: Future | None = None  # the operator's run: an error before its pod exists ends the wait

    def pod(self) -> client.V1Pod:
        """The operator's one pod, once the API server has admitted it (a phase)."""

        def admitted() -> client.V1Pod | None:
            if self.execution is not None and self.execution.done():
                self.execution.result()  # raises what stopped the operator, instead of a timeout that hides it
            pods = self.api.list_namespaced_pod(pod_spec.TRAINING_NAMESPACE).items
            return pods[0] if len(pods) == 1 and pods[0].status and pods[0].status.phase else None

        return _wait_for(admitted, "admitted pod")

    def start(self) -> None:
        self._report("Running", base=_running(), sidecar=_running())

    def step_exits(self, exit_code: int) -> None:
        """The pod stays Running while the sidecar waits to be read, as on a cluster."""
        self.exit_code = exit_code
        self._report("Running", base=_terminated(exit_code), sidecar=_running())

    def sidecar_stopped(self) -> None:
        phase = "Succeeded" if self.exit_code == 0 else "Failed"
        self._report(phase, base=_terminated(self.exit_code), sidecar=_terminated(0))

    def _report(self, phase: str, *, base: dict, sidecar: dict) -> None:
        statuses = [
            {"name": name, "image": "", "imageID": "", "ready": "running" in state, "restartCount": 0, "state": state}
            for name, state in ((BASE_CONTAINER, base), (SIDECAR, sidecar))
        ]
        body = {"status": {"phase": phase, "containerStatuses": statuses}}
        self.api.patch_namespaced_pod_status(self.pod().metadata.name, pod_spec.TRAINING_NAMESPACE, body)


@pytest.fixture
def node(api_server) -> Node:
    return Node(api_server["url"])


@pytest.fixture
def step_result(monkeypatch, node) -> dict:
    """The step's result as the sidecar prints it, and the sidecar's exit when the operator stops it (both exec)."""
    result = {}
    monkeypatch.setattr(PodManager, "extract_xcom_json", lambda self, pod: json.dumps(result))
    monkeypatch.setattr(PodManager, "extract_xcom_kill", lambda self, pod: node.sidecar_stopped())
    return result


@pytest.fixture
def case():
    """The model and step whose task runs: the anomaly model's validation, unless a test parametrizes it."""
    return MODEL, STEP


@pytest.fixture
def operator(api_server, tmp_path, monkeypatch, case):
    """A copy of the DAG's task (an operator keeps its pod between runs), its hook pointed at kmock by a kubeconfig."""
    monkeypatch.setenv("NIVESH_LAUNCHER", "kubernetes")
    # The hook loads the kubeconfig as the process' default client configuration: put back after the test.
    monkeypatch.setattr(client.Configuration, "_default", client.Configuration._default)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "kmock", "cluster": {"server": api_server["url"]}}],
                "users": [{"name": "kmock", "user": {}}],
                "contexts": [{"name": "kmock", "context": {"cluster": "kmock", "user": "kmock"}}],
                "current-context": "kmock",
            }
        )
    )
    model, step = case
    task = copy.deepcopy(dag_files.dagbag().dags[model.dag_id].get_task(step.task_id))
    task.config_file = str(kubeconfig)
    # The DagBag is shared by the worker's tests: one that built a pod before this one left the hook (and the client
    # and pod manager made from it) cached on the task, configured without this kubeconfig.
    for cached in ("hook", "client", "pod_manager"):
        task.__dict__.pop(cached, None)
    task.startup_check_interval_seconds = POLL_S  # 5 s by default: seconds per test spent waiting for Running
    return task


class TaskInstance:
    """What the operator reads from the task instance, and the XComs it pushes."""

    run_id, map_index, try_number = "manual__1", -1, 1

    def __init__(self, dag_id: str, task_id: str) -> None:
        self.dag_id, self.task_id = dag_id, task_id
        self.pushed = {}

    def xcom_push(self, key, value) -> None:
        self.pushed[key] = value


@pytest.fixture
def run(operator, node, api_server, case):
    """`run(exit_code)`: executes the task in a thread while the node runs its pod to that exit; returns the
    task's future and task instance."""

    def with_exit(exit_code: int) -> tuple[Future, TaskInstance]:
        model, step = case
        ti = TaskInstance(model.dag_id, step.task_id)
        execution = _in_background(operator.execute, {"ti": ti, "run_id": ti.run_id, "dag": operator.dag})
        node.execution = execution
        node.start()
        assert api_server["logs_followed"].wait(TIMEOUT_S), "the operator did not follow the step's log"
        node.step_exits(exit_code)
        return execution, ti

    return with_exit


@pytest.mark.parametrize("case", EVERY_POD, ids=[f"{model.name}.{step.task_id}" for model, step in EVERY_POD])
def test_the_step_pod_runs_to_success_through_the_api(case, run, api_server, node, step_result, capfd):
    step_result.update(status=Status.OK, rows=1200)
    execution, ti = run(0)
    assert execution.result(timeout=TIMEOUT_S) == step_result
    assert "[base] validated 1200 rows" in capfd.readouterr().out, "the step's output reaches the task log"

    (created,) = [request.data for request in api_server["emulator"][kmock.action.CREATE, PODS]]
    metadata, spec = created["metadata"], created["spec"]
    assert metadata["namespace"] == pod_spec.TRAINING_NAMESPACE
    model, step = case
    assert metadata["name"].startswith(pod_spec.pod_name(model.name, step.task_id))
    assert metadata["labels"].items() >= pod_spec.labels(model.name, step.task_id).items()
    assert spec["serviceAccountName"] == pod_spec.SERVICE_ACCOUNT
    assert spec["securityContext"] == serialized(pod_spec.pod_security_context())
    assert all(volume in spec["volumes"] for volume in serialized(pod_spec.volumes()))
    containers = {container["name"]: container for container in spec["containers"]}
    base, sidecar = containers[BASE_CONTAINER], containers[SIDECAR]
    assert (base["image"], base["command"], base["args"]) == (
        step.image.ref,
        [step.image.console_script],
        [step.subcommand, *step.arguments],
    )
    assert {var["name"]: var["value"] for var in base["env"]} == pod_spec.environment(step.image.ref)
    needed = pod_spec.gpu_resources() if step.gpu else pod_spec.resources(trains=step.trains)
    assert base["resources"] == serialized(needed)
    gpu_node = (pod_spec.gpu_node_selector(), serialized(pod_spec.gpu_tolerations()))
    assert (spec.get("nodeSelector"), spec.get("tolerations")) == (gpu_node if step.gpu else ({}, []))
    assert all(mount in base["volumeMounts"] for mount in serialized(pod_spec.volume_mounts()))
    assert base["securityContext"] == sidecar["securityContext"] == serialized(pod_spec.container_security_context())
    assert sidecar["image"] == pod_spec.XCOM_SIDECAR_IMAGE

    kept = node.pod()  # not deleted: make logs reads finished pods
    assert kept.status.phase == "Succeeded"
    assert ti.pushed["pod_name"] == kept.metadata.name and FAILED_STEP_RESULT not in ti.pushed


@pytest.mark.parametrize(
    ("exit_code", "status", "retried"),
    [(2, Status.BAD_INPUT, False), (3, Status.GATE_FAILED, False), (1, Status.ERROR, True)],
)
def test_a_failed_step_fails_the_task_and_only_bad_input_and_failed_gates_are_not_retried(
    run, step_result, exit_code, status, retried
):
    step_result.update(status=status, error="column amount: 3 negative values")
    execution, ti = run(exit_code)
    with pytest.raises(AirflowException) as raised:
        execution.result(timeout=TIMEOUT_S)
    assert isinstance(raised.value, AirflowFailException) is not retried
    assert f"exited {exit_code}" in str(raised.value) and step_result["error"] in str(raised.value)
    # Kept for the notification, which reads a return value as "this step finished" (as with the local launcher).
    assert ti.pushed[FAILED_STEP_RESULT] == step_result and "return_value" not in ti.pushed


def _in_background(function, *args) -> Future:
    """A daemon thread: a task that hangs fails its test (future.result times out) without holding up the exit."""
    future = Future()

    def run() -> None:
        try:
            future.set_result(function(*args))
        except Exception as error:  # noqa: BLE001 - the test reads it from the future
            future.set_exception(error)

    threading.Thread(target=run, daemon=True).start()
    return future


def _running() -> dict:
    return {"running": {"startedAt": _now()}}


def _terminated(exit_code: int) -> dict:
    reason = "Completed" if exit_code == 0 else "Error"
    return {"terminated": {"exitCode": exit_code, "reason": reason, "finishedAt": _now()}}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _wait_for(found, what: str):
    deadline = time.monotonic() + TIMEOUT_S
    while (value := found()) is None:
        assert time.monotonic() < deadline, f"no {what} after {TIMEOUT_S} s"
        time.sleep(POLL_S)
    return value
