"""Kubernetes objects shared by every training pod: placement, security, volumes, labels, environment."""

import os

from kubernetes.client import models as k8s

from nivesh_contract import deployment
from nivesh_contract.deployment import PREDICTIONS_MOUNT

TRAINING_NAMESPACE = "nivesh-training"
SERVICE_ACCOUNT = "nivesh-training"
DATA_CLAIM = "nivesh-training-data"
DATA_MOUNT = "/data"
# The serving pods' answers (charts/nivesh-serving), read by a rollout's evaluation.
PREDICTIONS_CLAIM = "nivesh-prediction-logs"
RUN_AS_USER = 10001
GPU_RESOURCE = "nvidia.com/gpu"
GPU_NODE_LABEL = "nvidia.com/gpu.present"
# Set to "false" where the GPU pool has no GPUs (kind): the pod keeps its placement, without the GPU limit.
GPU_LIMIT_SETTING = "NIVESH_GPU_LIMIT"
# Names the Secret (in the training namespace) holding MLFLOW_TRACKING_USERNAME and _PASSWORD, where MLflow
# asks for a login (the cluster); unset: no login (make run).
CREDENTIALS_SETTING = "NIVESH_MLFLOW_CREDENTIALS_SECRET"
PART_OF = "nivesh-training"
# The operator's XCom sidecar (it reads /airflow/xcom/return.json), pinned here rather than the provider's default,
# which changes with the provider: `make kind-load THIRD_PARTY=1` loads exactly this one.
XCOM_SIDECAR_IMAGE = "alpine:3.24.2"


def pod_name(model: str, step: str) -> str:
    """Pod name prefix (the operator adds a random suffix): `credit-risk-scorer-train-model-x7f2`."""
    return f"{model}-{step}".replace("_", "-")


def labels(model: str, step: str) -> dict[str, str]:
    """Labels for `kubectl logs -l nivesh.ai/model=...,nivesh.ai/step=...`."""
    return {"app.kubernetes.io/part-of": PART_OF, "nivesh.ai/model": model, "nivesh.ai/step": step}


def environment(image: str) -> dict[str, str]:
    """Deployment settings from Airflow Variables (or AIRFLOW_VAR_* env vars), the step's image ref, and the task's
    own ids, rendered per task.

    No image digest: the kubelet resolves the ref to a digest only when the pod starts (the container status'
    imageID), after this environment is fixed; only launcher docker, which asks its engine first, passes one.
    """
    return {
        deployment.TRACKING_URI_VARIABLE: (
            "{{ var.value.get('nivesh_mlflow_tracking_uri', 'http://mlflow.nivesh-mlflow:5000') }}"
        ),
        deployment.ARTIFACT_ROOT_VARIABLE: "{{ var.value.get('nivesh_mlflow_artifact_root', '') }}",
        deployment.XCOM_DIR_VARIABLE: deployment.XCOM_DIR,
        deployment.DATA_ROOT_VARIABLE: "{{ var.value.get('nivesh_data_root', '/data') }}",
        deployment.DATA_SCHEMES_VARIABLE: "{{ var.value.get('nivesh_data_schemes', '') }}",
        deployment.AIRFLOW_BASE_URL_VARIABLE: "{{ var.value.get('nivesh_airflow_base_url', '') }}",
        deployment.PUSHGATEWAY_VARIABLE: f"{{{{ var.value.get('{deployment.PUSHGATEWAY_AIRFLOW_VARIABLE}', '') }}}}",
        deployment.IMAGE_VARIABLE: image,
    } | {variable: f"{{{{ ti.{field} }}}}" for field, variable in deployment.AIRFLOW_CONTEXT_VARIABLES.items()}


def pod_security_context() -> k8s.V1PodSecurityContext:
    return k8s.V1PodSecurityContext(
        run_as_non_root=True,
        run_as_user=RUN_AS_USER,
        run_as_group=RUN_AS_USER,
        fs_group=RUN_AS_USER,
        seccomp_profile=k8s.V1SeccompProfile(type="RuntimeDefault"),
    )


def container_security_context() -> k8s.V1SecurityContext:
    return k8s.V1SecurityContext(
        allow_privilege_escalation=False, read_only_root_filesystem=True, capabilities=k8s.V1Capabilities(drop=["ALL"])
    )


def volumes(*, predictions: bool = False) -> list[k8s.V1Volume]:
    claims = {"data": DATA_CLAIM} | ({"predictions": PREDICTIONS_CLAIM} if predictions else {})
    return [
        *(
            k8s.V1Volume(
                name=name,
                persistent_volume_claim=k8s.V1PersistentVolumeClaimVolumeSource(claim_name=claim, read_only=True),
            )
            for name, claim in claims.items()
        ),
        # The root filesystem is read-only: scratch space for libraries that write to /tmp.
        k8s.V1Volume(name="tmp", empty_dir=k8s.V1EmptyDirVolumeSource()),
    ]


def volume_mounts(*, predictions: bool = False) -> list[k8s.V1VolumeMount]:
    return [
        k8s.V1VolumeMount(name="data", mount_path=DATA_MOUNT, read_only=True),
        *([k8s.V1VolumeMount(name="predictions", mount_path=PREDICTIONS_MOUNT, read_only=True)] if predictions else []),
        k8s.V1VolumeMount(name="tmp", mount_path="/tmp"),
    ]


# Requests are what a step needs to be scheduled, not a cap (no CPU limit: a step uses a free core). Measured on
# the sample data (README, Performance; 2026-12-05): train steps peak at 0.3-0.7 GiB, validate, drift check,
# evaluate, register and promote at 0.2-0.45 GiB, each mostly one core. A whole pipeline then fits a 2-core kind
# worker beside the others; the memory limits leave room for real weekly data.
TRAINING_RESOURCES = {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "8Gi"}}
STEP_RESOURCES = {"requests": {"cpu": "100m", "memory": "512Mi"}, "limits": {"memory": "2Gi"}}
# A pod waiting for a node is queued work, not a failure (the operator's default fails it after 120 s); once
# placed, pulling a loaded image and starting takes seconds, so a slow start still fails (a missing image).
SCHEDULE_TIMEOUT_S = 3 * 3600
STARTUP_TIMEOUT_S = 600


def resources(*, trains: bool) -> k8s.V1ResourceRequirements:
    return k8s.V1ResourceRequirements(**(TRAINING_RESOURCES if trains else STEP_RESOURCES))


def gpu_node_selector() -> dict[str, str]:
    return {GPU_NODE_LABEL: "true"}


def gpu_tolerations() -> list[k8s.V1Toleration]:
    """GPU nodes are tainted so that only pods that need a GPU land there."""
    return [k8s.V1Toleration(key=GPU_RESOURCE, operator="Exists", effect="NoSchedule")]


def gpu_limit_enabled() -> bool:
    """Read where the pod is built (the Airflow worker), so one deployment setting switches every DAG."""
    return os.environ.get(GPU_LIMIT_SETTING, "true").strip().lower() not in ("false", "0", "no")


def gpu_resources() -> k8s.V1ResourceRequirements:
    needed = resources(trains=True)
    if gpu_limit_enabled():
        needed.limits = {**needed.limits, GPU_RESOURCE: "1"}
    return needed


def mlflow_credentials() -> list[k8s.V1EnvFromSource] | None:
    """The MLflow login as environment variables from the deployment's Secret; read where the pod is built."""
    secret = os.environ.get(CREDENTIALS_SETTING, "").strip()
    return [k8s.V1EnvFromSource(secret_ref=k8s.V1SecretEnvSource(name=secret))] if secret else None
