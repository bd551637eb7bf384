"""The pod each task builds through the real KubernetesPodOperator (no cluster needed to build it)."""

import pytest

import dag_files
from nivesh_contract.catalog import MASTER, MODELS
from nivesh_contract.names import TRAINING_POOL
from nivesh_pipelines import pod_spec
from nivesh_pipelines.operator import TrainingStepOperator
from nivesh_pipelines.steps import ALL_MODELS, DRIFT_REPORT, FRESHNESS_CHECK, pipeline_steps

# (DAG, the pod's model label, step) for every training-step pod of every DAG.
TASKS = [(model.dag_id, model.name, step) for model in MODELS for step in pipeline_steps(model)] + [
    (MASTER.dag_id, ALL_MODELS, step) for step in (FRESHNESS_CHECK, DRIFT_REPORT)
]


@pytest.fixture(scope="module")
def dagbag():
    return dag_files.dagbag()


@pytest.mark.parametrize(("dag_id", "model", "step"), TASKS, ids=[f"{t[0]}.{t[2].task_id}" for t in TASKS])
def test_pod_spec(dagbag, dag_id, model, step):
    task = dagbag.dags[dag_id].get_task(step.task_id)
    assert isinstance(task, TrainingStepOperator)
    pod = task.build_pod_request_obj(dry_run=True)

    assert pod.metadata.namespace == "nivesh-training"
    assert pod.spec.service_account_name == "nivesh-training"
    assert pod.spec.restart_policy == "Never"
    assert (
        pod.metadata.labels
        | {
            "app.kubernetes.io/part-of": "nivesh-training",
            "nivesh.ai/model": model,
            "nivesh.ai/step": step.task_id,
        }
        == pod.metadata.labels
    )

    base = next(container for container in pod.spec.containers if container.name == "base")
    assert base.image == f"nivesh/{step.image.name}:0.1.0"
    assert base.command == [step.image.console_script]
    assert base.args == [step.subcommand, *step.arguments]
    env = {var.name: var.value for var in base.env}
    assert set(env) == {
        "MLFLOW_TRACKING_URI",
        "NIVESH_MLFLOW_ARTIFACT_ROOT",
        "NIVESH_XCOM_DIR",
        "NIVESH_DATA_ROOT",
        "NIVESH_DATA_SCHEMES",
        "NIVESH_AIRFLOW_DAG_ID",
        "NIVESH_AIRFLOW_RUN_ID",
        "NIVESH_AIRFLOW_TASK_ID",
        "NIVESH_AIRFLOW_TRY_NUMBER",
        "NIVESH_AIRFLOW_BASE_URL",
        "NIVESH_PUSHGATEWAY_URL",
        "NIVESH_IMAGE",
    }
    assert (
        env["NIVESH_AIRFLOW_RUN_ID"] == "{{ ti.run_id }}" and env["NIVESH_AIRFLOW_TRY_NUMBER"] == "{{ ti.try_number }}"
    )
    assert "nivesh_data_root" in env["NIVESH_DATA_ROOT"] and "nivesh_data_schemes" in env["NIVESH_DATA_SCHEMES"]
    assert env["NIVESH_XCOM_DIR"] == "/airflow/xcom"
    assert "nivesh_mlflow_tracking_uri" in env["MLFLOW_TRACKING_URI"]
    # Lineage: the runs the step opens name its image; registered versions link back to the Airflow run.
    assert env["NIVESH_IMAGE"] == base.image
    assert env["NIVESH_AIRFLOW_BASE_URL"] == "{{ var.value.get('nivesh_airflow_base_url', '') }}"

    assert pod.spec.security_context.run_as_non_root and pod.spec.security_context.run_as_user == 10001
    assert base.security_context.read_only_root_filesystem
    assert not base.security_context.allow_privilege_escalation
    assert base.security_context.capabilities.drop == ["ALL"]
    mounts = {mount.mount_path: mount for mount in base.volume_mounts}
    assert mounts["/data"].read_only and "/tmp" in mounts
    # XCom comes back through the provider's sidecar reading /airflow/xcom/return.json.
    assert any(container.name == "airflow-xcom-sidecar" for container in pod.spec.containers)


@pytest.mark.parametrize(("dag_id", "model", "step"), TASKS, ids=[f"{t[0]}.{t[2].task_id}" for t in TASKS])
def test_a_pod_waiting_for_a_node_is_queued_and_only_train_steps_ask_for_a_training_slot(dagbag, dag_id, model, step):
    task = dagbag.dags[dag_id].get_task(step.task_id)
    trains = step.task_id == "train_model"
    assert task.pool == (TRAINING_POOL if trains else "default_pool")
    wanted = pod_spec.TRAINING_RESOURCES if trains else pod_spec.STEP_RESOURCES
    assert _base(task.build_pod_request_obj(dry_run=True)).resources.requests == wanted["requests"]
    assert task.schedule_timeout_seconds >= 3600 and task.startup_timeout_seconds == pod_spec.STARTUP_TIMEOUT_S
    assert task.on_finish_action == "keep_pod", "make logs reads finished pods"


def test_steps_hand_each_other_run_ids_and_versions_through_xcom():
    for model in MODELS:
        arguments = {step.task_id: " ".join(step.arguments) for step in pipeline_steps(model)}
        assert "xcom_pull(task_ids='train_model')['run_id']" in arguments["evaluate_model"]
        assert "xcom_pull(task_ids='train_model')['run_id']" in arguments["register_model"]
        assert "xcom_pull(task_ids='register_model')['version']" in arguments["deploy_to_production"]


def _intent_train_pod(dagbag):
    return dagbag.dags["intent_classifier_training"].get_task("train_model").build_pod_request_obj(dry_run=True)


def _base(pod):
    return next(container for container in pod.spec.containers if container.name == "base")


def test_intent_training_asks_for_a_gpu_on_the_gpu_pool(dagbag):
    pod = _intent_train_pod(dagbag)
    assert pod.spec.node_selector == {"nvidia.com/gpu.present": "true"}
    assert [(t.key, t.operator, t.effect) for t in pod.spec.tolerations] == [("nvidia.com/gpu", "Exists", "NoSchedule")]
    assert _base(pod).resources.limits["nvidia.com/gpu"] == "1"


def test_the_gpu_limit_setting_drops_the_limit_and_keeps_the_placement(dagbag, monkeypatch):
    monkeypatch.setenv("NIVESH_GPU_LIMIT", "false")
    pod = _intent_train_pod(dagbag)
    assert "nvidia.com/gpu" not in _base(pod).resources.limits
    assert _base(pod).resources.limits["memory"] == "8Gi"
    assert pod.spec.node_selector == {"nvidia.com/gpu.present": "true"} and pod.spec.tolerations


def test_no_other_step_goes_to_the_gpu_pool(dagbag):
    for dag_id, _, step in TASKS:
        if (dag_id, step.task_id) != ("intent_classifier_training", "train_model"):
            pod = dagbag.dags[dag_id].get_task(step.task_id).build_pod_request_obj(dry_run=True)
            assert not pod.spec.node_selector and not pod.spec.tolerations, f"{dag_id}.{step.task_id}"
            assert "nvidia.com/gpu" not in (_base(pod).resources.limits or {})


def test_training_pods_get_the_mlflow_login_where_the_deployment_names_its_secret(dagbag, monkeypatch):
    task = dagbag.dags["credit_risk_training"].get_task("train_model")
    assert _base(task.build_pod_request_obj(dry_run=True)).env_from is None  # make run: no login
    monkeypatch.setenv("NIVESH_MLFLOW_CREDENTIALS_SECRET", "nivesh-mlflow-credentials")
    (source,) = _base(task.build_pod_request_obj(dry_run=True)).env_from
    assert source.secret_ref.name == "nivesh-mlflow-credentials"


def test_the_airflow_base_url_comes_from_the_deployment_s_variable(dagbag, monkeypatch):
    from airflow.sdk.execution_time.context import VariableAccessor

    task = dagbag.dags["credit_risk_training"].get_task("register_model")
    env = {var.name: var.value for var in _base(task.build_pod_request_obj(dry_run=True)).env}
    monkeypatch.setenv("AIRFLOW_VAR_NIVESH_AIRFLOW_BASE_URL", "http://127.0.0.1:8080")
    context = {"var": {"value": VariableAccessor(deserialize_json=False)}}
    assert task.render_template(env["NIVESH_AIRFLOW_BASE_URL"], context) == "http://127.0.0.1:8080"
    assert env["NIVESH_IMAGE"] == "nivesh/credit-risk:0.1.0"
