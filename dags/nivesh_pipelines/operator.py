"""The training-step operator: a KubernetesPodOperator whose pod is the single source of truth.

Launcher `kubernetes` (default) launches the pod; launcher `local` runs that same pod's container
command as a local process (local_launcher.py); launcher `docker` runs its container on the local Docker
engine (docker_launcher.py). NIVESH_LAUNCHER is read when the task runs.
"""

import os

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.sdk.exceptions import AirflowException
from kubernetes.client import models as k8s

from nivesh_contract.names import TRAINING_POOL
from nivesh_pipelines import pod_spec
from nivesh_pipelines.docker_launcher import run_pod_in_docker
from nivesh_pipelines.exit_codes import raise_for_exit_code, terminated_exit_code
from nivesh_pipelines.local_launcher import BASE_CONTAINER, run_pod_locally
from nivesh_pipelines.steps import Step

LAUNCHERS = ("kubernetes", "local", "docker")
OUTSIDE_THE_CLUSTER = {"local": run_pod_locally, "docker": run_pod_in_docker}
# XCom key under which a failed step keeps its result JSON (which gate, which column) for the notification.
FAILED_STEP_RESULT = "failed_step_result"


def selected_launcher() -> str:
    launcher = os.environ.get("NIVESH_LAUNCHER", "kubernetes")
    if launcher not in LAUNCHERS:
        raise ValueError(f"NIVESH_LAUNCHER={launcher!r}: expected one of {', '.join(LAUNCHERS)}")
    return launcher


class TrainingStepOperator(KubernetesPodOperator):
    """Runs one subcommand of a step image; `model` labels the pod (a registered model name, or `all`)."""

    ui_color = "#e4f0e8"

    def __init__(self, *, step: Step, model: str, **kwargs) -> None:
        self.needs_gpu = step.gpu
        super().__init__(
            task_id=step.task_id,
            name=pod_spec.pod_name(model, step.task_id),
            namespace=pod_spec.TRAINING_NAMESPACE,
            service_account_name=pod_spec.SERVICE_ACCOUNT,
            image=step.image.ref,
            cmds=[step.image.console_script],
            arguments=[step.subcommand, *step.arguments],
            labels=pod_spec.labels(model, step.task_id),
            env_vars=pod_spec.environment(step.image.ref),
            security_context=pod_spec.pod_security_context(),
            container_security_context=pod_spec.container_security_context(),
            volumes=pod_spec.volumes(predictions=step.reads_predictions),
            volume_mounts=pod_spec.volume_mounts(predictions=step.reads_predictions),
            container_resources=pod_spec.resources(trains=step.trains),
            node_selector=pod_spec.gpu_node_selector() if step.gpu else None,
            tolerations=pod_spec.gpu_tolerations() if step.gpu else None,
            schedule_timeout_seconds=pod_spec.SCHEDULE_TIMEOUT_S,
            startup_timeout_seconds=pod_spec.STARTUP_TIMEOUT_S,
            do_xcom_push=True,
            get_logs=True,
            # Finished pods stay, so `make logs` reads a step's output after a good run and after the scheduler
            # (which holds Airflow's task logs) restarted; the cluster's terminated-pod GC bounds how many stay.
            on_finish_action="keep_pod",
            **({"pool": TRAINING_POOL} if step.trains else {}),
            **kwargs,
        )

    def build_pod_request_obj(self, context=None, *, dry_run: bool = False) -> k8s.V1Pod:
        """As the base class, with the XCom sidecar pinned and as locked down as the step (restricted Pod Security),
        and the deployment's GPU limit and MLflow login on the step's container."""
        pod = super().build_pod_request_obj(context, dry_run=dry_run)
        for container in pod.spec.containers:
            if container.name != BASE_CONTAINER:
                container.security_context = pod_spec.container_security_context()
                container.image = pod_spec.XCOM_SIDECAR_IMAGE
                continue
            # The deployment's settings, read when the pod is built: the GPU limit, the MLflow login.
            if self.needs_gpu:
                container.resources = pod_spec.gpu_resources()
            container.env_from = pod_spec.mlflow_credentials()
        return pod

    def execute(self, context):
        launcher = selected_launcher()
        if launcher in OUTSIDE_THE_CLUSTER:
            pod = self.build_pod_request_obj(context, dry_run=True)
            exit_code, result = OUTSIDE_THE_CLUSTER[launcher](pod, self.log)
            self._raise_for_exit_code(exit_code, pod.metadata.name, result, context)
            return result
        return super().execute(context)

    def cleanup(self, pod: k8s.V1Pod, remote_pod: k8s.V1Pod, xcom_result: dict | None = None, context=None) -> None:
        """As the base class, with the `local` launcher's contract: a failed step's result is kept under
        FAILED_STEP_RESULT, never as the task's return value (which says the step finished: the base class pushes
        it on failure too, and the notification then names the wrong step); bad input and failed gates are not
        retried."""
        try:
            super().cleanup(pod, remote_pod, context=context)  # the result goes back to the runner on success
        except AirflowException:
            exit_code = terminated_exit_code(remote_pod, BASE_CONTAINER)
            if exit_code:
                self._raise_for_exit_code(exit_code, pod.metadata.name, xcom_result, context)
            raise

    @staticmethod
    def _raise_for_exit_code(exit_code: int, pod_name: str, result: dict | None, context) -> None:
        if exit_code and result is not None and context is not None:
            context["ti"].xcom_push(key=FAILED_STEP_RESULT, value=result)
        raise_for_exit_code(exit_code, pod_name, result)
