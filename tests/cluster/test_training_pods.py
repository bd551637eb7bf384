"""Every pod every DAG builds, through the real KubernetesPodOperator, against the training namespace's rules."""

import pytest
import yaml
from charts import chart_values, kind_config, validate
from kubernetes.client import ApiClient
from kubernetes_validate import ValidationError

import dag_files
from nivesh_pipelines.operator import TrainingStepOperator
from nivesh_platform.charts import release_named
from nivesh_platform.pod_security import restricted_violations

TRAINING = chart_values("nivesh-training")


def _pods() -> list[tuple[str, dict]]:
    return [
        (
            f"{dag.dag_id}.{task.task_id}",
            ApiClient().sanitize_for_serialization(task.build_pod_request_obj(dry_run=True)),
        )
        # by DAG id: each pytest-xdist worker must list the same tests, and Airflow collects the DAGs of a file
        # holding several (data_refresh.py) in no fixed order
        for _, dag in sorted(dag_files.dagbag().dags.items())
        for task in dag.tasks
        if isinstance(task, TrainingStepOperator)
    ]


PODS = _pods()


@pytest.mark.parametrize(("task", "pod"), PODS, ids=[task for task, _ in PODS])
def test_pod_is_valid_and_fits_the_training_namespace(task, pod):
    validate(pod)
    assert pod["metadata"]["namespace"] == release_named("nivesh-training").namespace
    assert pod["spec"]["serviceAccountName"] == TRAINING["serviceAccount"]["name"]
    claims = [
        volume["persistentVolumeClaim"]["claimName"]
        for volume in pod["spec"]["volumes"]
        if "persistentVolumeClaim" in volume
    ]
    # a rollout's evaluation reads the serving release's prediction logs too
    serving = (
        [chart_values("nivesh-serving")["predictionLogs"]["claimName"]] if task.endswith(".evaluate_rollout") else []
    )
    assert claims == [TRAINING["data"]["claimName"], *serving]
    assert restricted_violations(pod["spec"]) == []


def test_every_dag_has_pods_here():
    assert {task.split(".")[0] for task, _ in PODS} >= {"credit_risk_training", "master_training_pipeline"}


def test_the_checks_can_fail():
    _, pod = PODS[0]
    sidecar_as_the_provider_builds_it = {**pod["spec"]["containers"][-1], "securityContext": None}
    loose = {**pod["spec"], "containers": [*pod["spec"]["containers"][:-1], sidecar_as_the_provider_builds_it]}
    assert restricted_violations(loose) == [
        "airflow-xcom-sidecar: allowPrivilegeEscalation is not false",
        "airflow-xcom-sidecar: capabilities do not drop ALL",
    ]
    with pytest.raises(ValidationError):
        validate({**pod, "spec": {**pod["spec"], "restartPolicy": 3}})


def test_the_intent_training_pod_lands_on_the_kind_gpu_worker():
    (pod,) = [pod for task, pod in PODS if task == "intent_classifier_training.train_model"]
    (gpu_worker,) = [node for node in kind_config()["nodes"] if node.get("labels", {}).get("nvidia.com/gpu.present")]
    assert pod["spec"]["nodeSelector"].items() <= gpu_worker["labels"].items()
    taints = yaml.safe_load(gpu_worker["kubeadmConfigPatches"][0])["nodeRegistration"]["taints"]
    tolerated = pod["spec"]["tolerations"][0]
    assert all(t["key"] == tolerated["key"] and t["effect"] == tolerated["effect"] for t in taints)
