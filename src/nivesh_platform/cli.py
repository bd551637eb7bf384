"""`nivesh-platform`: the embedded default's commands (the Makefile calls these)."""

import json
import logging
import os
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated

import typer

from nivesh_platform.cluster_cli import cluster_app, deploy_check
from nivesh_platform.interrupts import stop_cleanly_on_signals

app = typer.Typer(
    help="Nivesh training platform on this machine: no cluster, no server.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

app.add_typer(cluster_app, name="cluster")
app.command()(deploy_check)

NEXT_RUN_AFTER_INTERRUPT = (
    "The next make run starts a new master run: a model with a production version and no new or drifted data is"
    " skipped, every other one trains again from the start (FORCE=1: all of them)."
)

StateDir = Annotated[Path, typer.Option("--state-dir", envvar="NIVESH_STATE_DIR", help="Embedded state folder.")]


def _state(state_dir: Path):
    from nivesh_platform.state import EmbeddedState

    return EmbeddedState(state_dir.resolve())


@app.command()
def run(
    state_dir: StateDir = Path(".nivesh"),
    force: Annotated[bool, typer.Option("--force", help="Train even where data is unchanged and not drifted.")] = False,
) -> None:
    """Generate sample data, run the master pipeline (every model DAG) with launcher `local`, print the outcome."""
    from nivesh_platform.embedded import run_master
    from nivesh_platform.progress import Interrupted
    from nivesh_platform.services import ServiceError

    state = _state(state_dir)
    stop_cleanly_on_signals()
    try:
        outcome = run_master(state, {"force": force})
    except ServiceError as error:
        typer.echo(f"nivesh-platform: error: {error}", err=True)
        raise typer.Exit(1) from None
    except Interrupted as interrupted:
        typer.echo(f"nivesh-platform: {interrupted}; Airflow stopped.", err=True)
        typer.echo(NEXT_RUN_AFTER_INTERRUPT, err=True)
        raise typer.Exit(130) from None
    summary(state_dir)
    typer.echo(f"\nEvery notification: {state.notification_file}; task logs: {state.airflow_home / 'logs'}")
    if outcome.state != "success":
        typer.echo(f"master_training_pipeline run {outcome.run_id} failed at: {', '.join(outcome.failed_tasks)}")
        if note := outcome.load.failure_note():
            typer.echo(note)
    typer.echo(f"\n{outcome.summary or 'no summary: send_summary did not finish'}")
    raise typer.Exit(0 if outcome.state == "success" else 1)


@app.command()
def summary(state_dir: StateDir = Path(".nivesh")) -> None:
    """Print each model's newest version, key metrics, gates and production version."""
    from mlflow import MlflowClient

    from nivesh_contract.catalog import MODELS
    from nivesh_platform.summary import format_rows, registry_rows

    client = MlflowClient(_state(state_dir).tracking_uri)
    typer.echo(format_rows(registry_rows(client, MODELS)))


@app.command()
def ui(
    state_dir: StateDir = Path(".nivesh"),
    airflow_port: Annotated[int, typer.Option(envvar="AIRFLOW_PORT", help="Airflow UI and REST API port.")] = 8080,
    mlflow_port: Annotated[int, typer.Option(envvar="MLFLOW_PORT", help="MLflow UI port.")] = 5000,
    prometheus_port: Annotated[int, typer.Option(envvar="PROMETHEUS_PORT", help="Prometheus port.")] = 9090,
    pushgateway_port: Annotated[int, typer.Option(envvar="PUSHGATEWAY_PORT", help="Pushgateway port.")] = 9091,
) -> None:
    """Airflow (api-server, scheduler, dag-processor, triggerer) and the MLflow UI on the state dir, until Ctrl-C;
    Prometheus and its Pushgateway too where Debian's packages are installed (the steps push their figures)."""
    from nivesh_platform.embedded import PIPELINE_DAG_IDS, prepare
    from nivesh_platform.prometheus import local_monitoring
    from nivesh_platform.services import (
        LOGIN,
        MLFLOW_EXPERIMENTS,
        MLFLOW_VIEW_HINT,
        ServiceError,
        local_airflow,
        mlflow_ui,
    )
    from nivesh_platform.source_refresh import refresh_dag_ids

    state = _state(state_dir)
    stop_cleanly_on_signals()
    started = False
    # The port this UI serves: registered versions link their Airflow run under it (see EmbeddedState.environment).
    os.environ["AIRFLOW_PORT"] = str(airflow_port)
    prepare(state)
    try:
        with ExitStack() as services:
            monitoring = services.enter_context(local_monitoring(state, prometheus_port, pushgateway_port))
            started = monitoring.started
            dag_ids = PIPELINE_DAG_IDS + refresh_dag_ids()
            airflow_services = local_airflow(state, dag_ids, airflow_port, schedules=True)
            airflow = services.enter_context(airflow_services).api
            mlflow = services.enter_context(mlflow_ui(state, mlflow_port))
            typer.echo(
                f"\nAirflow UI: {airflow.url}  (login {LOGIN[0]} / {LOGIN[1]}: this machine only)\n"
                f"MLflow UI:  {mlflow}/{MLFLOW_EXPERIMENTS}\n"
                f"  ({MLFLOW_VIEW_HINT}: the browser remembers it.)\n"
                f"{monitoring.said}\n"
                f"Logs: {state.logs_dir}; launcher local.\n"
                "Schedules on while this runs: each DAG at its weekly time (UTC), a model DAG also when its data is\n"
                "published (make publish-data MODEL=... DATA=...); trigger any DAG from the UI.\n"
                "Ctrl-C stops them all.",
            )
            while True:
                time.sleep(3600)
    except ServiceError as error:
        typer.echo(f"nivesh-platform: error: {error}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        typer.echo("stopped Airflow and the MLflow UI" + (", Prometheus and the Pushgateway" if started else ""))


@app.command()
def serve(
    model: Annotated[str, typer.Argument(help="Registered model name, e.g. credit_risk_scorer.")],
    state_dir: StateDir = Path(".nivesh"),
    port: Annotated[int, typer.Option(envvar="SERVE_PORT", help="Port on 127.0.0.1 the app calls.")] = 5001,
) -> None:
    """The model's production version on 127.0.0.1 until Ctrl-C, and in a staged rollout its staging version
    behind the declared split (nginx); every answer logged for rollout-evaluate; restarted when an alias moves (a
    promotion, a rollout's decision, a rollback). Prints a curl call."""
    from nivesh_contract.catalog import UnknownModelError, model_named
    from nivesh_contract.names import PRODUCTION
    from nivesh_platform.rollout_router import NoNginxError
    from nivesh_platform.rollout_serving import served_aliases, start_serving
    from nivesh_platform.services import ServiceError

    state = _state(state_dir)
    try:
        declaration = model_named(model)
    except UnknownModelError as error:
        typer.echo(f"nivesh-platform: error: {error}", err=True)
        raise typer.Exit(2) from None
    aliases = served_aliases(state.tracking_uri, declaration)
    if PRODUCTION not in aliases:
        typer.echo(f"nivesh-platform: error: no production version of {model} in {state.root}: make run", err=True)
        raise typer.Exit(2)
    stop_cleanly_on_signals()
    run_dir = state.logs_dir / f"serve-{model}"
    serving = None
    try:
        while True:
            if serving is None:
                serving = start_serving(declaration, state.tracking_uri, port, aliases, state.predictions_dir, run_dir)
                _say_what_is_served(state, declaration, serving, aliases)
            if news := serving.staging_down_news():
                typer.echo(f"nivesh-platform: {news}", err=True)
            time.sleep(5)
            now = served_aliases(state.tracking_uri, declaration)
            if PRODUCTION in now and now != aliases:
                typer.echo(f"{model}: {_moves(aliases, now)}: restarting what serves it")
                serving.stop()
                serving, aliases = None, now
    except (ServiceError, NoNginxError) as error:
        typer.echo(f"nivesh-platform: error: {error}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        typer.echo("stopped serving")
    finally:
        if serving is not None:
            serving.stop()


def _say_what_is_served(state, declaration, serving, aliases: dict[str, int]) -> None:
    from nivesh_contract.names import STAGING
    from nivesh_platform.serving import curl_example, serving_example

    for alias, url in serving.servers.items():
        typer.echo(f"{declaration.name}@{alias} (v{aliases[alias]}) at {url}")
    if STAGING in serving.servers:
        typer.echo(f"the app calls {serving.url}: {_split(declaration.rollout)}; send the user's id as X-User-Id")
    typer.echo(f"answers logged under {state.predictions_dir / declaration.name}; for example:")
    typer.echo(curl_example(serving.url, serving_example(state.tracking_uri, declaration.name)))
    typer.echo("Ctrl-C stops it.")


def _moves(before: dict[str, int], now: dict[str, int]) -> str:
    """`production v1 -> v2, staging v2 -> none`."""

    def named(aliases: dict[str, int], alias: str) -> str:
        return f"v{aliases[alias]}" if alias in aliases else "none"

    moved = sorted(alias for alias in before.keys() | now.keys() if before.get(alias) != now.get(alias))
    return ", ".join(f"{alias} {named(before, alias)} -> {named(now, alias)}" for alias in moved)


def _split(rollout) -> str:
    if rollout.strategy == "canary":
        return f"canary: {rollout.share_percent:g}% of users answered by staging, the same users every time"
    return "shadow: production answers, staging gets a copy of every request"


@app.command("rollout-evaluate")
def rollout_evaluate(
    model: Annotated[str, typer.Argument(help="Registered model name with a staged rollout.")],
    state_dir: StateDir = Path(".nivesh"),
    approve: Annotated[bool, typer.Option(help="A person approves (models that need approval).")] = False,
) -> None:
    """Run the model's rollout DAG on the embedded default: its staging version judged on the answers `make serve`
    logged, promoted or rolled back if due; prints the decision (as notified) or why it waits."""
    from nivesh_contract.catalog import UnknownModelError, model_named
    from nivesh_platform.embedded import evaluate_rollout
    from nivesh_platform.services import ServiceError

    try:
        declaration = model_named(model)
    except UnknownModelError as error:
        typer.echo(f"nivesh-platform: error: {error}", err=True)
        raise typer.Exit(2) from None
    if not declaration.rollout.staged:
        typer.echo(f"nivesh-platform: error: {model} is rolled out directly (no staging to judge)", err=True)
        raise typer.Exit(2)
    try:
        outcome, message = evaluate_rollout(_state(state_dir), declaration, approve)
    except ServiceError as error:
        typer.echo(f"nivesh-platform: error: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(message or _quiet_evaluation(outcome))
    raise typer.Exit(0 if outcome.succeeded else 1)


def _quiet_evaluation(outcome) -> str:
    """What a run that notified nothing decided: its step's result, the last stdout line the run's log shows."""
    for line in reversed(outcome.log_file.read_text().splitlines()):
        if '"decision": ' in line and "{" in line:
            try:
                judged = json.loads(line[line.index("{") : line.rindex("}") + 1])
            except ValueError:
                continue
            return f"{outcome.dag_id}: {judged['decision'].replace('_', ' ')}: {judged['reason']}"
    return f"{outcome.dag_id} {'succeeded' if outcome.succeeded else 'failed'}: see {outcome.log_file}"


@app.command()
def publish_data(
    model: Annotated[str, typer.Argument(help="Registered model name, e.g. credit_risk_scorer.")],
    path: Annotated[Path, typer.Argument(help="The new training data: a file the model's steps can read.")],
    state_dir: StateDir = Path(".nivesh"),
    airflow_url: Annotated[
        str | None,
        typer.Option(help="Airflow's base URL; default: make ui's, http://127.0.0.1:$AIRFLOW_PORT (8080)."),
    ] = None,
) -> None:
    """Record new training data for MODEL: an event of its data asset through Airflow's REST API, with the file's path.
    The model's DAG runs on it (`make ui`, or any Airflow with schedules on, e.g. the cluster's)."""
    from nivesh_contract.catalog import UnknownModelError, model_named
    from nivesh_platform.publish import PublishError, publish_data_event

    try:
        declaration = model_named(model)
    except UnknownModelError as error:
        typer.echo(f"nivesh-platform: error: {error}", err=True)
        raise typer.Exit(2) from None
    data = path.expanduser().resolve()
    if not data.is_file():
        typer.echo(f"nivesh-platform: error: {path}: {'not a file' if data.exists() else 'no such file'}", err=True)
        raise typer.Exit(2)
    data_root = _state(state_dir).data_dir
    if airflow_url is None and not data.is_relative_to(data_root):
        said = f"{path} is outside make ui's data root {data_root}, the only place its steps read: copy it there"
        typer.echo(f"nivesh-platform: error: {said}", err=True)
        raise typer.Exit(2)
    url = airflow_url or f"http://127.0.0.1:{os.environ.get('AIRFLOW_PORT') or 8080}"
    try:
        typer.echo(publish_data_event(url, declaration, data))
    except PublishError as error:
        typer.echo(f"nivesh-platform: error: {error}", err=True)
        raise typer.Exit(1) from None


@app.command()
def rollback(
    model: Annotated[str, typer.Argument(help="Registered model name, e.g. credit_risk_scorer.")],
    state_dir: StateDir = Path(".nivesh"),
    to: Annotated[int | None, typer.Option(min=1, help="The version to return to; default: `previous`.")] = None,
    reason: Annotated[str, typer.Option(help="Why: shown in the notification.")] = "",
) -> None:
    """Run the rollback_model DAG on the embedded default: production back to `previous` (or --to VERSION)."""
    from nivesh_contract.catalog import ROLLBACK_DAG_ID, UnknownModelError, model_named
    from nivesh_platform.embedded import rollback_model
    from nivesh_platform.services import ServiceError

    try:
        model_named(model)
    except UnknownModelError as error:
        typer.echo(f"nivesh-platform: error: {error}", err=True)
        raise typer.Exit(2) from None
    state = _state(state_dir)
    try:
        outcome, message = rollback_model(state, {"model": model, "version": to, "reason": reason})
    except ServiceError as error:
        typer.echo(f"nivesh-platform: error: {error} (or trigger {ROLLBACK_DAG_ID} from its UI)", err=True)
        raise typer.Exit(1) from None
    typer.echo(message or f"{ROLLBACK_DAG_ID} ended without its notification: see {outcome.log_file}")
    raise typer.Exit(0 if outcome.succeeded else 1)


@app.command()
def sample_data(state_dir: StateDir = Path(".nivesh")) -> None:
    """Generate each model's sample data under the state dir's data/ (once; existing data is kept)."""
    from nivesh_platform.embedded import prepare

    state = _state(state_dir)
    prepare(state)
    typer.echo(state.data_dir)


@app.command()
def images(
    third_party: Annotated[
        bool, typer.Option("--third-party", help="Instead: the images the charts pull (PostgreSQL, MLflow...).")
    ] = False,
) -> None:
    """Every image the DAGs and the cluster run (what `make kind-load` loads), one per line."""
    from nivesh_contract.catalog import AIRFLOW_IMAGE_REF, STEP_IMAGES

    if third_party:
        from nivesh_platform.charts import third_party_images

        typer.echo("\n".join(sorted(third_party_images(Path(".").resolve()))))
        return
    typer.echo("\n".join(sorted({image.ref for image in STEP_IMAGES} | {AIRFLOW_IMAGE_REF})))


@app.command()
def new_model(
    name: Annotated[str, typer.Argument(help="snake_case: the registered model, images/NAME, the DAG NAME_training.")],
    root: Annotated[Path, typer.Option(help="The repository to write into.")] = Path("."),
) -> None:
    """Scaffold a working model (package, Dockerfile stage, declaration, DAG, tests) and list its declaration."""
    from nivesh_platform.new_model import ScaffoldError, scaffold

    root = root.resolve()
    try:
        written = scaffold(root, name)
    except ScaffoldError as error:
        typer.echo(f"nivesh-platform: error: {error}", err=True)
        raise typer.Exit(2) from None
    typer.echo("\n".join(f"  {path.relative_to(root)}" for path in written))
    declaration = f"images/contract/src/nivesh_contract/models/{name}.toml"
    typer.echo(f"\n{name}: set its schedule, thresholds and drift profile in {declaration}; then make test-fast")


@app.command()
def dashboards_json() -> None:
    """Write the Grafana dashboards (built in nivesh_platform/dashboards.py) to charts/monitoring/dashboards/."""
    from nivesh_platform.dashboards import write_dashboards

    typer.echo("\n".join(str(path) for path in write_dashboards()))


@app.command()
def router_configs() -> None:
    """Write each staged model's router configuration (nginx, from its declared rollout) to
    charts/nivesh-serving/files/, where the serving chart reads it."""
    from nivesh_contract.catalog import MODELS
    from nivesh_platform.rollout_router import write_cluster_configs
    from nivesh_platform.state import DAGS_FOLDER

    folder = DAGS_FOLDER.parent / "charts" / "nivesh-serving" / "files"
    typer.echo("\n".join(str(path) for path in write_cluster_configs(list(MODELS), folder)))


@app.command()
def check_chart_values(
    chart_dir: Annotated[Path, typer.Argument(help="Wrapper chart pinning official charts.")] = Path("charts/airflow"),
) -> None:
    """Check our values for the official charts a wrapper pins against each chart's values.schema.json."""
    from nivesh_platform.chart_values import ChartValuesError, check_dependency_values

    try:
        checked = check_dependency_values(chart_dir)
    except ChartValuesError as error:
        typer.echo(f"nivesh-platform: error: {error}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"{chart_dir}/values.yaml: every key is documented by {checked}")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    app()
