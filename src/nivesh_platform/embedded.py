"""`make run`: sample data, then every model DAG run end to end by Airflow with launcher `local`."""

import json
import logging
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from nivesh_pipelines.catalog import ModelSpec
from nivesh_platform.state import EmbeddedState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DagRunOutcome:
    dag_id: str
    succeeded: bool
    seconds: float
    log_file: Path


def ensure_sample_data(state: EmbeddedState, spec: ModelSpec, environment: dict[str, str]) -> Path:
    """Generate the model's sample data once; existing data is never overwritten."""
    path = state.data_dir / spec.data_file
    if not path.exists():
        log.info("generating sample data for %s at %s", spec.registered_name, path)
        subprocess.run(
            [spec.console_script, "sample-data", "--out", str(path)],
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


def run_embedded(state: EmbeddedState, models: tuple[ModelSpec, ...], conf: dict | None = None) -> list[DagRunOutcome]:
    state.prepare()
    environment = state.environment(dict(os.environ))
    for spec in models:
        ensure_sample_data(state, spec, environment)
    migrate_metadata_db(state, environment)
    outcomes = []
    for spec in models:
        log.info("running DAG %s (log: %s)", spec.dag_id, state.logs_dir / f"{spec.dag_id}.log")
        outcome = run_dag(state, spec.dag_id, environment, conf)
        log.info("%s: %s in %.0fs", spec.dag_id, "success" if outcome.succeeded else "FAILED", outcome.seconds)
        outcomes.append(outcome)
    return outcomes
