"""The kind cluster from this machine: reach Airflow's REST API and MLflow through `kubectl port-forward`.

Port-forwarding reaches a Service whatever the chart renders for node ports, and selects nothing by a
guessed object kind (the scheduler is a Deployment or a StatefulSet depending on the chart's values).
"""

import base64
import json
import logging
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from secrets import token_urlsafe

from nivesh_platform.charts import release_named
from nivesh_platform.services import AirflowApi, free_port

KUBE_CONTEXT = "kind-nivesh"  # the Makefile's KUBE_CONTEXT
AIRFLOW_SERVICE = ("airflow-api-server", 8080)  # the official chart: <release>-api-server
MLFLOW_SERVICE = ("mlflow", 5000)
GRAFANA_SERVICE = ("monitoring-grafana", 80)  # the grafana chart: <release>-grafana
GRAFANA_USER = "admin"
# Where kind publishes the two UIs' node ports (charts/kind/kind-config.yaml): the node port numbers themselves,
# clear of `make ui`'s 8080 and 5000 (both may run at once) and of macOS's AirPlay receiver on 5000.
AIRFLOW_UI, MLFLOW_UI = "http://127.0.0.1:30080", "http://127.0.0.1:30500"
AIRFLOW_LOGIN = ("admin", "admin")  # charts/airflow/values.yaml createUserJob: this local cluster only
MLFLOW_AUTH_SECRET = "mlflow-auth"
ALERTS_SECRET = "nivesh-alerts"
# What `make deploy` and the README show to put in that Secret. Slack: the webhook's token, no host (a host replaces
# hooks.slack.com/services, path and all); SMTP: its sender, from_email, which the SMTP notifier requires.
ALERT_CONNECTION_EXAMPLES = {
    "AIRFLOW_CONN_SLACK_WEBHOOK": "slackwebhook://:T000%2FB000%2FXXXX@",
    "AIRFLOW_CONN_SMTP_DEFAULT": "smtp://user:password@smtp.example.com:587?from_email=nivesh%40example.com",
}
FORWARD_TIMEOUT_S = 30
PARSE_TIMEOUT_S = 300

log = logging.getLogger(__name__)


class ClusterError(RuntimeError):
    """kubectl failed, or the cluster does not answer as `make deploy` left it."""


def kubectl(context: str, *args: str, stdin: str | None = None) -> str:
    command = ["kubectl", "--context", context, *args]
    try:
        completed = subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        raise ClusterError("kubectl not found: install kubectl 1.34, https://kubernetes.io/docs/tasks/tools/") from None
    if completed.returncode != 0:
        detail = " ".join(completed.stderr.split())[:300]
        hint = "; run make kind-up && make deploy" if "does not exist" in detail or "not found" in detail else ""
        raise ClusterError(f"kubectl {' '.join(args[:3])}: {detail}{hint}")
    return completed.stdout


@contextmanager
def port_forward(context: str, namespace: str, service: str, port: int, local_port: int = 0) -> Iterator[str]:
    """`kubectl port-forward svc/<service>` on a loopback port (0: a free one) while the block runs; its URL."""
    local = local_port or free_port()
    command = ["kubectl", "--context", context, "--namespace", namespace, "port-forward", "--address", "127.0.0.1"]
    forward = subprocess.Popen(
        [*command, f"service/{service}", f"{local}:{port}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_until_forwarding(forward, f"{namespace}/{service}")
        yield f"http://127.0.0.1:{local}"
    finally:
        forward.terminate()
        forward.wait(10)


def _wait_until_forwarding(forward: subprocess.Popen, what: str) -> None:
    """kubectl prints `Forwarding from ...` once it listens; it exits at once when the service is missing."""
    deadline = time.monotonic() + FORWARD_TIMEOUT_S
    while time.monotonic() < deadline:
        line = forward.stdout.readline()
        if line.startswith("Forwarding from"):
            return
        if forward.poll() is not None:
            detail = " ".join(forward.stderr.read().split())[:300]
            raise ClusterError(f"port-forward to {what}: {detail}; run make kind-up && make deploy")
    raise ClusterError(f"port-forward to {what}: not listening after {FORWARD_TIMEOUT_S}s")


def answers(what: str, url: str) -> None:
    """`url` answers HTTP (any answer but a server error), else ClusterError saying what to do."""
    import httpx

    try:
        status = httpx.get(url, timeout=10).status_code
    except httpx.HTTPError as error:
        status, detail = None, type(error).__name__
    else:
        detail = f"HTTP {status}"
    if status is None or status >= 500:
        raise ClusterError(
            f"{what} does not answer at {url} ({detail}): run make kind-up && make deploy (a kind cluster made "
            "before its ports moved to 30080 and 30500 needs make kind-down && make kind-up)"
        )


def grafana_answers(url: str) -> None:
    """Grafana's health endpoint answers through the forward at `url`, else ClusterError saying what to do."""
    import httpx

    try:
        response = httpx.get(f"{url}/api/health", timeout=10)
    except httpx.HTTPError as error:
        detail = type(error).__name__
    else:
        if response.status_code == 200:
            return
        detail = f"HTTP {response.status_code}"
    raise ClusterError(
        f"Grafana does not answer at {url} ({detail}): make status shows its pod, make deploy installs it"
    )


def secret_value(context: str, namespace: str, name: str, key: str) -> str:
    encoded = kubectl(context, "get", "secret", name, "--namespace", namespace, "-o", f"jsonpath={{.data.{key}}}")
    return base64.b64decode(encoded).decode()


def secret_names(context: str, namespace: str) -> set[str]:
    found = kubectl(context, "get", "secrets", "--namespace", namespace, "-o", "jsonpath={.items[*].metadata.name}")
    return set(found.split())


def has_secret(context: str, namespace: str, name: str) -> bool:
    return name in secret_names(context, namespace)


def create_airflow_key_secrets(context: str, airflow_values: dict) -> dict[str, bool]:
    """Each key Secret our Airflow values name, made with a fresh value where it is missing: name -> created
    (False: it existed and is kept; the manifest goes through stdin, so no key shows in a process list)."""
    from nivesh_platform.airflow_keys import key_secrets

    namespace = release_named("airflow").namespace
    existing = secret_names(context, namespace)
    created = {}
    for name, key in key_secrets(airflow_values).items():
        if name not in existing:
            _create_secret(context, name, namespace, {key.data_key: key.new_value()})
        created[name] = name not in existing
    return created


def create_grafana_login_secret(context: str, monitoring_values: dict) -> tuple[str, bool]:
    """The Secret our monitoring values name for Grafana's login, made with user admin and a fresh password where
    it is missing (through stdin, as the Airflow keys): (its name, whether it was made now)."""
    admin = monitoring_values["grafana"]["admin"]
    name, namespace = admin["existingSecret"], release_named("monitoring").namespace
    if has_secret(context, namespace, name):
        return name, False
    _create_secret(context, name, namespace, {admin["userKey"]: GRAFANA_USER, admin["passwordKey"]: token_urlsafe(24)})
    return name, True


def _create_secret(context: str, name: str, namespace: str, string_data: dict[str, str]) -> None:
    """A new Secret, its manifest through kubectl's stdin: no value shows in a process list."""
    manifest = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app.kubernetes.io/part-of": "nivesh-training"}},
        "type": "Opaque",
        "stringData": string_data,
    }
    kubectl(context, "create", "-f", "-", stdin=json.dumps(manifest))


@contextmanager
def airflow_api(context: str) -> Iterator[AirflowApi]:
    service, port = AIRFLOW_SERVICE
    with port_forward(context, release_named("airflow").namespace, service, port) as url:
        yield AirflowApi(url, login=AIRFLOW_LOGIN)


@contextmanager
def mlflow_tracking(context: str) -> Iterator[str]:
    """MLflow's URL through a port-forward, with its admin login in the environment MLflow's client reads."""
    namespace = release_named("mlflow").namespace
    login = {
        "MLFLOW_TRACKING_USERNAME": secret_value(context, namespace, MLFLOW_AUTH_SECRET, "username"),
        "MLFLOW_TRACKING_PASSWORD": secret_value(context, namespace, MLFLOW_AUTH_SECRET, "password"),
    }
    saved = {name: os.environ.get(name) for name in login}
    service, port = MLFLOW_SERVICE
    with port_forward(context, namespace, service, port) as url:
        os.environ.update(login)
        try:
            yield url
        finally:
            for name, value in saved.items():
                os.environ.pop(name, None) if value is None else os.environ.__setitem__(name, value)


def trigger(context: str, dag_id: str, conf: dict, parse_timeout_s: float = PARSE_TIMEOUT_S) -> str:
    """Trigger `dag_id` with `conf` once the pipeline DAGs are parsed; every one is unpaused first (the master
    triggers the model DAGs)."""
    from nivesh_platform.embedded import PIPELINE_DAG_IDS

    with airflow_api(context) as api:
        _wait_until_parsed(api, PIPELINE_DAG_IDS, parse_timeout_s)
        if not api.has_dag(dag_id):
            raise ClusterError(
                f"no DAG {dag_id} in the cluster's Airflow; its pipeline DAGs: {', '.join(PIPELINE_DAG_IDS)}"
            )
        for pipeline in PIPELINE_DAG_IDS:
            api.unpause(pipeline)
        return api.trigger(dag_id, conf)


def _wait_until_parsed(api: AirflowApi, dag_ids: list[str], timeout_s: float) -> None:
    """Right after `make deploy` the DAG processor has not parsed the DAGs yet: wait for it, saying so."""
    deadline = time.monotonic() + timeout_s
    while missing := [dag_id for dag_id in dag_ids if not api.has_dag(dag_id)]:
        if time.monotonic() >= deadline:
            raise ClusterError(
                f"Airflow has not parsed {', '.join(missing)} after {timeout_s:.0f} s: is the nivesh/airflow image "
                "current (make images && make deploy)? Its DAG processor's log: kubectl -n nivesh-airflow logs "
                "deployment/airflow-dag-processor"
            )
        log.info("waiting for Airflow to parse %s", ", ".join(missing))
        time.sleep(5)


def wait_for(context: str, dag_id: str, run_id: str, timeout_s: float, approve_since: datetime | None = None) -> str:
    """The run's final state; each task is logged as it finishes. With `approve_since`, every approval request
    made since then is approved (as the Airflow login) and logged."""
    from nivesh_platform.services import APPROVE

    with airflow_api(context) as api:

        def approve() -> None:
            for request in api.answer_requests(approve_since, APPROVE):
                instance = request["task_instance"]
                log.info("approved: %s (%s run %s)", request["subject"], instance["dag_id"], instance["dag_run_id"])

        return api.wait_for_run(dag_id, run_id, timeout_s, poll_s=15, each_poll=approve if approve_since else None)


def registry_rows(context: str) -> list[dict]:
    """The registry table's rows, read from the cluster's MLflow with its admin login."""
    from mlflow import MlflowClient

    from nivesh_contract.catalog import MODELS
    from nivesh_platform.summary import registry_rows as rows_of

    with mlflow_tracking(context) as url:
        # Registry named too: MLFLOW_REGISTRY_URI in the caller's environment would send registry reads elsewhere.
        return rows_of(MlflowClient(url, url), MODELS)


def training_slots(nodes: dict) -> int:
    """One train step at a time per allocatable CPU core of the untainted nodes (the CPU pool). The GPU pool is left
    out: it runs only the intent step, and kind's nodes all report the host's cores (counting it would double)."""
    cores = sum(
        _cores(node["status"]["allocatable"]["cpu"])
        for node in nodes["items"]
        if not [taint for taint in node["spec"].get("taints") or [] if taint["effect"] == "NoSchedule"]
    )
    return max(1, int(cores))


def _cores(quantity: str) -> float:
    """A Kubernetes CPU quantity ("4", "3500m") in cores."""
    return int(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


def set_training_pool(context: str) -> int:
    """The training pool sized to the cluster's CPU pool (nivesh_contract.names.TRAINING_POOL); its slots."""
    from nivesh_contract.names import TRAINING_POOL

    slots = training_slots(json.loads(kubectl(context, "get", "nodes", "-o", "json")))
    with airflow_api(context) as api:
        api.set_pool(TRAINING_POOL, slots, f"train steps at once: one per CPU core of the untainted nodes ({slots})")
    return slots
