"""The step contract's exit codes, as Airflow task outcomes.

2 (bad input) and 3 (gate not passed) fail the task without retries: the same input fails again.
Anything else non-zero is retried.
"""

from airflow.sdk.exceptions import AirflowException, AirflowFailException
from kubernetes.client import models as k8s

from nivesh_contract.exit_codes import NOT_RETRIED, ExitCode


def raise_for_exit_code(exit_code: int, pod_name: str, result: dict | None) -> None:
    if exit_code == ExitCode.DONE:
        return
    detail = (result or {}).get("error", "see the log above")
    if exit_code in NOT_RETRIED:
        raise AirflowFailException(f"{pod_name} exited {exit_code} ({NOT_RETRIED[exit_code]}): {detail}")
    raise AirflowException(f"{pod_name} exited {exit_code}: {detail}")


def terminated_exit_code(pod: k8s.V1Pod | None, container_name: str) -> int | None:
    """Exit code of a pod's terminated container, from the pod status the API server returned."""
    statuses = (pod.status.container_statuses if pod and pod.status else None) or []
    status = next((status for status in statuses if status.name == container_name), None)
    terminated = status.state.terminated if status and status.state else None
    return terminated.exit_code if terminated else None
