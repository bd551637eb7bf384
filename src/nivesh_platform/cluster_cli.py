"""`nivesh-platform cluster ...` and `deploy-check`: what the Makefile's cluster targets run."""

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

cluster_app = typer.Typer(
    help="The kind cluster of `make kind-up && make deploy`, reached through kubectl port-forward.",
    no_args_is_help=True,
)
Context = Annotated[str, typer.Option("--context", envvar="KUBE_CONTEXT", help="kubectl context of the cluster.")]
DEFAULT_CONTEXT = "kind-nivesh"


def _fail(error: Exception | str) -> typer.Exit:
    typer.echo(f"nivesh-platform: error: {error}", err=True)
    return typer.Exit(2)


def deploy_check(
    root: Annotated[Path, typer.Option(help="The repository (charts/ under it).")] = Path("."),
    require_official_chart: Annotated[
        bool, typer.Option(help="Fail where an official chart cannot be fetched (make deploy).")
    ] = False,
    helm: Annotated[str, typer.Option(help="The Helm CLI to lint and render each release with.")] = "helm",
) -> None:
    """Everything `make deploy` decides, without a cluster; says what it checked and what it skipped."""
    import shutil

    from nivesh_platform.deploy_check import run_deploy_check

    report = run_deploy_check(root.resolve(), shutil.which(helm))
    for line in report.checked:
        typer.echo(f"checked: {line}")
    for line in report.skipped:
        typer.echo(f"skipped: {line}")
    for line in report.problems:
        typer.echo(f"problem: {line}", err=True)
    if report.problems or (require_official_chart and report.skipped):
        typer.echo("deploy-check failed: make deploy would not install this", err=True)
        raise typer.Exit(2)
    typer.echo(f"deploy-check passed ({len(report.checked)} checked, {len(report.skipped)} skipped)")


@cluster_app.command()
def secrets(
    context: Context = DEFAULT_CONTEXT,
    root: Annotated[Path, typer.Option(help="The repository (charts/*/values.yaml under it).")] = Path("."),
) -> None:
    """Make Airflow's key Secrets (fernet, API, JWT) and Grafana's login where missing; existing ones are kept
    (make deploy)."""
    from nivesh_platform.airflow_keys import unnamed_keys
    from nivesh_platform.charts import chart_values
    from nivesh_platform.cluster import ClusterError, create_airflow_key_secrets, create_grafana_login_secret

    values = chart_values(root.resolve(), "airflow")["airflow"]
    if unnamed := unnamed_keys(values):
        raise _fail(f"charts/airflow/values.yaml: {', '.join(unnamed)} unset: the chart would make those keys itself")
    try:
        created = create_airflow_key_secrets(context, values)
        grafana, grafana_new = create_grafana_login_secret(context, chart_values(root.resolve(), "monitoring"))
    except ClusterError as error:
        raise _fail(error) from None
    for name, new in created.items():
        typer.echo(f"{'created' if new else 'kept'} Secret {name} (namespace nivesh-airflow)")
    typer.echo(f"{'created' if grafana_new else 'kept'} Secret {grafana} (namespace nivesh-monitoring)")


@cluster_app.command()
def pool(context: Context = DEFAULT_CONTEXT) -> None:
    """Size the Airflow pool of the train steps to the cluster's CPU pool (make deploy; again after adding nodes)."""
    from nivesh_contract.names import TRAINING_POOL
    from nivesh_platform.cluster import ClusterError, set_training_pool
    from nivesh_platform.services import ServiceError

    try:
        slots = set_training_pool(context)
    except (ClusterError, ServiceError) as error:
        raise _fail(error) from None
    typer.echo(f"pool {TRAINING_POOL}: {slots} train steps at once")


@cluster_app.command()
def trigger(
    dag_id: Annotated[str, typer.Argument(help="DAG id, e.g. master_training_pipeline.")],
    conf: Annotated[str, typer.Option(help="Run parameters as JSON, e.g. '{\"force\": true}'.")] = "{}",
    context: Context = DEFAULT_CONTEXT,
    parse_timeout: Annotated[int, typer.Option(help="Seconds to wait for Airflow to parse the DAGs.")] = 300,
) -> None:
    """Trigger a DAG through Airflow's REST API (every pipeline DAG is unpaused first)."""
    import httpx

    from nivesh_platform.cluster import ClusterError
    from nivesh_platform.cluster import trigger as trigger_dag
    from nivesh_platform.services import ServiceError

    try:
        run_id = trigger_dag(context, dag_id, _conf(conf), parse_timeout)
    except (ClusterError, ServiceError, httpx.HTTPError) as error:
        raise _fail(error) from None
    typer.echo(f"triggered {dag_id} run {run_id}; follow it: make ui-cluster, or make status")


def _conf(text: str) -> dict:
    try:
        conf = json.loads(text)
    except json.JSONDecodeError as error:
        raise _fail(f"--conf is not JSON: {error}") from None
    if not isinstance(conf, dict):
        raise _fail("--conf must be a JSON object")
    return conf


@cluster_app.command()
def dashboards(
    context: Context = DEFAULT_CONTEXT,
    port: Annotated[int, typer.Option(help="Local port of the forward (127.0.0.1).")] = 3000,
    root: Annotated[Path, typer.Option(help="The repository (charts/monitoring under it).")] = Path("."),
) -> None:
    """Grafana with the Nivesh boards, through a port-forward on 127.0.0.1, and how to log in; until Ctrl-C."""
    from nivesh_platform.charts import chart_values, provisioned_dashboards, release_named
    from nivesh_platform.cluster import GRAFANA_SERVICE, GRAFANA_USER, ClusterError, grafana_answers, port_forward
    from nivesh_platform.interrupts import stop_cleanly_on_signals

    stop_cleanly_on_signals()
    namespace = release_named("monitoring").namespace
    admin = chart_values(root.resolve(), "monitoring")["grafana"]["admin"]
    try:
        with port_forward(context, namespace, *GRAFANA_SERVICE, local_port=port) as url:
            grafana_answers(url)
            typer.echo(f"Grafana: {url}  (folder Nivesh)")
            for uid, title in provisioned_dashboards(root.resolve()).items():
                typer.echo(f"  {title}: {url}/d/{uid}")
            typer.echo(
                f"  login {GRAFANA_USER}; password: kubectl --context {context} get secret {admin['existingSecret']} "
                f"-n {namespace} -o jsonpath='{{.data.{admin['passwordKey']}}}' | base64 -d"
            )
            typer.echo("Ctrl-C stops the port-forward.")
            while True:  # until Ctrl-C, or until the forward or Grafana is gone (then one line, exit 2)
                time.sleep(5)
                grafana_answers(url)
    except ClusterError as error:
        raise _fail(error) from None
    except KeyboardInterrupt:
        typer.echo("stopped the port-forward to Grafana")


@cluster_app.command()
def smoke(
    context: Context = DEFAULT_CONTEXT,
    timeout: Annotated[int, typer.Option(help="Seconds to wait for the master pipeline.")] = 3600,
    approve: Annotated[
        bool,
        typer.Option(
            help="Approve, as the Airflow login, the approval requests made while it runs (credit risk's on the "
            "cluster): a smoke test checks the pipeline, not the candidate. --no-approve leaves them to a person."
        ),
    ] = True,
) -> None:
    """Trigger the master pipeline, wait for it, and check every model has a production version in MLflow."""
    import httpx

    from nivesh_contract.catalog import MASTER
    from nivesh_platform.cluster import ClusterError, registry_rows, wait_for
    from nivesh_platform.cluster import trigger as trigger_dag
    from nivesh_platform.services import ServiceError
    from nivesh_platform.summary import format_rows

    started, since = time.monotonic(), datetime.now(UTC)
    try:
        run_id = trigger_dag(context, MASTER.dag_id, {})
        approving = "approving its approval requests" if approve else "its approval requests left to a person"
        typer.echo(f"triggered {MASTER.dag_id} run {run_id}; waiting up to {timeout} s, {approving}")
        state = wait_for(context, MASTER.dag_id, run_id, timeout, approve_since=since if approve else None)
        rows = registry_rows(context)
    except (ClusterError, ServiceError) as error:
        raise _fail(error) from None
    except httpx.HTTPError as error:  # a refused or dropped connection: the port-forward or the API server went away
        lost = f"lost the connection to Airflow's API server ({type(error).__name__}: {error})"
        raise _fail(f"{lost}; a run it started goes on: make status, make ui-cluster") from None
    typer.echo(format_rows(rows))
    missing = [row["model"] for row in rows if row["production"] is None]
    typer.echo(f"{MASTER.dag_id} run {run_id}: {state} after {time.monotonic() - started:.0f} s")
    if state != "success" or missing:
        typer.echo(f"smoke failed: no production version of {', '.join(missing) or 'none missing'}", err=True)
        raise typer.Exit(1)
    typer.echo("smoke passed: every model has a production version on the cluster")


@cluster_app.command()
def info(context: Context = DEFAULT_CONTEXT) -> None:
    """How to reach both UIs and their logins, and where alerts go (what `make deploy` prints at the end)."""
    from nivesh_platform.cluster import ALERTS_SECRET, ClusterError, has_secret

    try:
        alerts = has_secret(context, "nivesh-airflow", ALERTS_SECRET)
    except ClusterError as error:
        raise _fail(error) from None
    typer.echo(_reach_text(context))
    if alerts:
        typer.echo(f"Alerts: the Slack and SMTP connections of Secret {ALERTS_SECRET} (namespace nivesh-airflow).")
    else:
        typer.echo(_no_alerts_text(ALERTS_SECRET))


def _reach_text(context: str) -> str:
    from nivesh_platform.cluster import AIRFLOW_UI, MLFLOW_UI
    from nivesh_platform.services import MLFLOW_EXPERIMENTS, MLFLOW_VIEW_HINT

    secret = f"kubectl --context {context} get secret mlflow-auth -n nivesh-mlflow -o jsonpath='{{.data.password}}'"
    return (
        f"\nBoth UIs, published by kind (make ui-cluster checks they answer): Airflow {AIRFLOW_UI}, "
        f"MLflow {MLFLOW_UI}/{MLFLOW_EXPERIMENTS}\n"
        f"  ({MLFLOW_VIEW_HINT}.)\n"
        "  Airflow login admin / admin (this local cluster only)\n"
        f"  MLflow login admin; password: {secret} | base64 -d\n"
        "  Grafana (Prometheus's figures of every step and pipeline): make dashboards\n"
        "Next: make smoke (trains every model once and checks production), make status, make logs MODEL=..."
    )


def _no_alerts_text(secret: str) -> str:
    from nivesh_platform.cluster import ALERT_CONNECTION_EXAMPLES

    literals = "".join(f" \\\n    --from-literal={name}='{uri}'" for name, uri in ALERT_CONNECTION_EXAMPLES.items())
    return (
        f"Alerts: none configured (no Secret {secret}): notifications go to the task logs only. To send them:\n"
        f"  kubectl -n nivesh-airflow create secret generic {secret}{literals}\n"
        "  kubectl -n nivesh-airflow rollout restart statefulset,deployment"
    )


@cluster_app.command()
def ui(
    airflow_url: Annotated[str, typer.Option(help="Where kind publishes the Airflow UI.")] = "",
    mlflow_url: Annotated[str, typer.Option(help="Where kind publishes the MLflow UI.")] = "",
) -> None:
    """Where the cluster's Airflow and MLflow UIs are (kind publishes their node ports on 127.0.0.1), once both
    answer there."""
    from nivesh_platform.cluster import AIRFLOW_UI, MLFLOW_UI, ClusterError, answers
    from nivesh_platform.services import MLFLOW_EXPERIMENTS, MLFLOW_VIEW_HINT

    airflow, mlflow = airflow_url or AIRFLOW_UI, mlflow_url or MLFLOW_UI
    try:
        answers("Airflow", airflow)
        answers("MLflow", mlflow)
    except ClusterError as error:
        raise _fail(error) from None
    typer.echo(
        f"Airflow UI: {airflow}  (admin / admin)\nMLflow UI:  {mlflow}/{MLFLOW_EXPERIMENTS}\n  ({MLFLOW_VIEW_HINT}.)"
    )
