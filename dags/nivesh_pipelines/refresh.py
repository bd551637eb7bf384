"""Builds a model's data-refresh DAG from its declared source: extract a snapshot from the app's PostgreSQL,
judge it with the model's own `validate`, then announce it as an event of the model's data asset (which starts the
model's training DAG on it) or quarantine it and alert.

    extract_snapshot >> validate_snapshot >> publish_snapshot
                                          >> quarantine_snapshot (only when validate_snapshot failed)

An extract whose bytes equal the newest announced snapshot publishes nothing: the run skips the rest.
"""

import logging

from airflow.sdk import DAG, TriggerRule, Variable, get_current_context, task
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException

from nivesh_contract.catalog import model_named
from nivesh_contract.declaration import ModelDeclaration
from nivesh_contract.names import DATA_EVENT_PATH_KEY, DATA_SOURCE_TAG, PREVIOUS, PRODUCTION
from nivesh_pipelines import snapshots
from nivesh_pipelines.assets import cron_from_next_slot, data_asset
from nivesh_pipelines.notify import deliver
from nivesh_pipelines.operator import FAILED_STEP_RESULT, TrainingStepOperator
from nivesh_pipelines.pipeline import DEFAULT_ARGS, option_param
from nivesh_pipelines.steps import EXTRACT, PUBLISH, QUARANTINE, VALIDATE, Step, flags

log = logging.getLogger(__name__)

EXTRACTED = "{{ ti.xcom_pull(task_ids='" + EXTRACT + "')['path'] }}"


def _data_root() -> str:
    return Variable.get("nivesh_data_root", default="/data")


def _extracted(ti) -> dict:
    return ti.xcom_pull(task_ids=EXTRACT)


def build_refresh_dag(model: ModelDeclaration) -> DAG:
    source = model.source
    validate = Step(VALIDATE, "validate", model.image, ("--data", EXTRACTED, *flags(*model.options_of("validate"))))
    with DAG(
        dag_id=model.refresh_dag_id,
        description=f"Refreshes {model.name}'s training data from the app's PostgreSQL ({source.query_file}).",
        schedule=cron_from_next_slot(source.schedule),
        # Paused until someone turns it on where its connection exists (make run and make ui do, with NIVESH_SOURCE_DB).
        is_paused_upon_creation=True,
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        params={option.name: option_param(option) for option in model.options_of("validate")},
        tags=["nivesh", "data-refresh", model.name],
        doc_md=f"### {model.refresh_dag_id}\nExtracts the last {source.window_days} days of `{source.query_file}` "
        f"through connection `{source.connection}`, validates it with `{model.image.console_script} validate`, and "
        f"announces it as an event of asset `{data_asset(model).name}`.",
    ) as dag:
        # A refused snapshot is alerted once, by the quarantine, with the reason.
        judged = TrainingStepOperator(step=validate, model=model.name, on_failure_callback=None)
        published = publish_snapshot.override(outlets=[data_asset(model)])(model.name)
        extract_snapshot(model.name) >> judged >> [published, quarantine_snapshot(model.name)]
    return dag


@task(task_id=EXTRACT)
def extract_snapshot(model_name: str, dag_run=None) -> dict:
    """The window ends when the run was due (`run_after`): a re-run extracts the same window."""
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    model = model_named(model_name)
    folder = snapshots.model_folder(_data_root(), model)
    window = snapshots.Window.ending(dag_run.run_after, model.source.window_days)
    try:
        connect = PostgresHook(postgres_conn_id=model.source.connection).get_conn
        manifest = snapshots.extract_snapshot(connect, model, window, folder)
    except snapshots.ExtractError as error:
        if error.retryable:
            raise AirflowException(str(error)) from None
        raise AirflowFailException(str(error)) from None
    if snapshots.is_unchanged(folder, manifest):
        snapshots.discard(folder, manifest["snapshot"])
        raise AirflowSkipException(
            f"unchanged: {manifest['rows']} rows, sha256 {manifest['sha256'][:12]}, the same as the newest snapshot; "
            "nothing published"
        )
    path = folder / snapshots.INCOMING / manifest["snapshot"] / manifest["file"]
    log.info("extracted %s rows of %s into %s", manifest["rows"], model.source.query_file, path)
    return {**manifest, "path": str(path)}


@task(task_id=PUBLISH)
def publish_snapshot(model_name: str, ti=None, outlet_events=None) -> dict:
    """Announces the snapshot (one rename), names it in the data asset's event, then applies retention."""
    model = model_named(model_name)
    extracted = _extracted(ti)
    folder = snapshots.model_folder(_data_root(), model)
    in_service = data_sources_in_service(model.name)  # before anything moves: MLflow not answering moves nothing
    snapshot = snapshots.move(folder, extracted["snapshot"], snapshots.SNAPSHOTS)
    path = str(snapshot / extracted["file"])
    outlet_events[data_asset(model)].extra = {DATA_EVENT_PATH_KEY: path}
    deleted = snapshots.prune(folder, model.source.keep_snapshots, in_service)
    log.info("announced %s; deleted older snapshots: %s", path, ", ".join(deleted) or "none")
    return {"path": path, "rows": extracted["rows"], "sha256": extracted["sha256"], "deleted": deleted}


@task(task_id=QUARANTINE, trigger_rule=TriggerRule.ONE_FAILED, retries=0)
def quarantine_snapshot(model_name: str, ti=None) -> str:
    """Keeps the refused snapshot for inspection and alerts with validate's reason."""
    model = model_named(model_name)
    extracted = _extracted(ti)
    kept = snapshots.move(snapshots.model_folder(_data_root(), model), extracted["snapshot"], snapshots.QUARANTINE)
    refused = ti.xcom_pull(task_ids=VALIDATE, key=FAILED_STEP_RESULT) or {}
    reason = refused.get("error") or f"{VALIDATE} failed (see its log)"
    window = extracted["window"]
    message = (
        f"{model.name}: the extract of {extracted['rows']} rows ({model.source.query_file}, window {window['start']} "
        f"to {window['end']}) was refused: {reason}. Kept in {kept}; the training data is unchanged."
    )
    deliver(f"[nivesh] {model.refresh_dag_id}: snapshot quarantined", message, get_current_context())
    return str(kept)


def data_sources_in_service(model_name: str) -> set[str]:
    """The data files the production and previous versions were trained on (their runs' `nivesh.data.source`):
    retention keeps them. MLflow not answering fails the task before anything is moved or deleted."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    uri = Variable.get("nivesh_mlflow_tracking_uri")
    client = MlflowClient(uri, registry_uri=uri)  # the registry is the tracking store's, whatever the worker's env says
    try:
        aliases = client.get_registered_model(model_name).aliases
    except MlflowException as error:
        if error.error_code == "RESOURCE_DOES_NOT_EXIST":
            return set()  # never registered: nothing was trained on a snapshot yet
        raise
    versions = [
        client.get_model_version(model_name, aliases[alias]) for alias in (PRODUCTION, PREVIOUS) if alias in aliases
    ]
    return {client.get_run(version.run_id).data.tags.get(DATA_SOURCE_TAG, "") for version in versions}
