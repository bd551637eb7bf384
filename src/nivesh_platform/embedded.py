"""`make run`: sample data, then the master pipeline run end to end by Airflow with launcher `local`."""

import json
import logging
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from nivesh_contract.catalog import MASTER, MODELS, ROLLBACK_DAG_ID
from nivesh_contract.declaration import ModelDeclaration
from nivesh_platform.machine_load import LoadWatch
from nivesh_platform.progress import Interrupted, follow_master, mark_unfinished_runs_failed, stop_left_runs
from nivesh_platform.services import ServiceError, free_port, local_airflow, state_lock
from nivesh_platform.source_refresh import load_state_data, refresh
from nivesh_platform.state import EmbeddedState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DagRunOutcome:
    dag_id: str
    succeeded: bool
    seconds: float
    log_file: Path


def ensure_sample_data(state: EmbeddedState, model: ModelDeclaration, environment: dict[str, str]) -> Path:
    """Generate the model's sample data once; existing data is never overwritten."""
    path = state.data_dir / model.data_file
    if not path.exists():
        log.info("generating sample data for %s at %s", model.name, path)
        subprocess.run(
            [model.image.console_script, "sample-data", "--out", str(path)],
            env=environment,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return path


def migrate_metadata_db(state: EmbeddedState, environment: dict[str, str]) -> None:
    with open(state.logs_dir / "airflow-db-migrate.log", "w") as log_file:
        subprocess.run(["airflow", "db", "migrate"], env=environment, check=True, stdout=log_file, stderr=log_file)


def run_dag(state: EmbeddedState, dag_id: str, environment: dict[str, str], conf: dict | None = None) -> DagRunOutcome:
    """One DAG run through `airflow dags test`: real scheduler logic, in-process task runs."""
    log_path = state.logs_dir / f"{dag_id}.log"
    command = ["airflow", "dags", "test", dag_id, *(["--conf", json.dumps(conf)] if conf else [])]
    started = time.perf_counter()
    with open(log_path, "w") as log_file:
        completed = subprocess.run(command, env=environment, stdout=log_file, stderr=subprocess.STDOUT)
    return DagRunOutcome(dag_id, completed.returncode == 0, round(time.perf_counter() - started, 1), log_path)


MASTER_RUN_TIMEOUT_S = 3600
PIPELINE_DAG_IDS = [MASTER.dag_id, *(model.dag_id for model in MODELS), ROLLBACK_DAG_ID]
# Each staged model's hourly rollout evaluation.
PIPELINE_DAG_IDS += [model.rollout_dag_id for model in MODELS if model.rollout.staged]


@dataclass(frozen=True)
class MasterRun:
    run_id: str
    state: str
    failed_tasks: list[str]
    summary: str | None  # the send_summary message; None where that task did not finish
    load: LoadWatch  # how busy the machine was meanwhile


def prepare(state: EmbeddedState) -> dict[str, str]:
    """State dir and sample data in place; returns the embedded environment."""
    state.prepare()
    environment = state.environment(dict(os.environ))
    for model in MODELS:
        ensure_sample_data(state, model, environment)
    create_tracking_store(state)
    return environment


def create_tracking_store(state: EmbeddedState) -> None:
    """Create the MLflow store's schema once, before parallel steps would all migrate the new SQLite file."""
    from mlflow import MlflowClient

    MlflowClient(state.tracking_uri).search_experiments(max_results=1)


def run_master(state: EmbeddedState, conf: dict, port: int | None = None) -> MasterRun:
    """Start Airflow on the state dir, refresh each model's data from NIVESH_SOURCE_DB where it is set, trigger the
    master pipeline, wait for it, stop Airflow."""
    prepare(state)
    refreshed = load_state_data(state)
    dag_ids = PIPELINE_DAG_IDS + [model.refresh_dag_id for model in refreshed]
    with local_airflow(state, dag_ids, port or free_port()) as airflow:
        api = airflow.api
        if left := stop_left_runs(api):
            log.warning("an earlier make run did not finish; marked failed: %s", ", ".join(left))
        refresh(api, refreshed)
        run_id = api.trigger(MASTER.dag_id, conf)
        log.info("triggered %s run %s", MASTER.dag_id, run_id)
        load = LoadWatch()
        try:
            final_state = follow_master(api, run_id, MASTER_RUN_TIMEOUT_S, load)
        except KeyboardInterrupt:
            # Tasks stopped first: a trigger task still running could start its model's run after any marking.
            airflow.components.stop_task_runners()
            raise Interrupted(mark_unfinished_runs_failed(api, dag_ids)) from None
        failed = [task for task, task_state in api.task_states(MASTER.dag_id, run_id).items() if task_state == "failed"]
        try:
            summary = api.xcom(MASTER.dag_id, run_id, "send_summary")["summary"]
        except ServiceError:
            summary = None
    return MasterRun(run_id, final_state, failed, summary, load)


def rollback_model(state: EmbeddedState, conf: dict) -> tuple[DagRunOutcome, str | None]:
    """One rollback_model run; its outcome and the message its send_notification sent."""
    return _notifying_run(state, ROLLBACK_DAG_ID, conf, f"[nivesh] {ROLLBACK_DAG_ID} {conf['model']}")


def evaluate_rollout(state: EmbeddedState, model: ModelDeclaration, approve: bool) -> tuple[DagRunOutcome, str | None]:
    """One run of the model's rollout DAG; its outcome and the decision it notified (None: nothing to notify)."""
    # Its decision's subject (`...: rolled back`) or a failed task's (`....evaluate_rollout failed`).
    return _notifying_run(state, model.rollout_dag_id, {"approve": approve}, f"[nivesh] {model.rollout_dag_id}")


def _notifying_run(state: EmbeddedState, dag_id: str, conf: dict, subject: str) -> tuple[DagRunOutcome, str | None]:
    """One run (`airflow dags test`: no services to start); returns its outcome and the last message whose subject
    starts with `subject` that it wrote to the notification file (where the embedded default sends them)."""
    state.prepare()
    environment = state.environment(dict(os.environ))
    with state_lock(state):
        migrate_metadata_db(state, environment)
        before = state.notification_file.stat().st_size if state.notification_file.exists() else 0
        outcome = run_dag(state, dag_id, environment, conf)
    sent = state.notification_file.read_text()[before:] if state.notification_file.exists() else ""
    # Each notification: `--- <time> UTC <subject>\n<message>`
    messages = [block.split(subject, 1)[1] for block in sent.split("--- ") if subject in block]
    return outcome, messages[-1].split("\n", 1)[-1].strip() if messages else None
