"""The embedded default's state dir (.nivesh/): Airflow home, MLflow store and artifacts, data, logs."""

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import nivesh_pipelines
from nivesh_contract.catalog import MODELS

DAGS_FOLDER = Path(nivesh_pipelines.__file__).resolve().parents[1]
# The app's PostgreSQL (a URL), where the refresh DAGs extract each model's data from: their Airflow connection.
SOURCE_DB_VARIABLE = "NIVESH_SOURCE_DB"


def local_parallelism() -> int:
    """Tasks at once on this machine: every model DAG's step and one more, or two per core where there are more."""
    return max(len(MODELS) + 1, 2 * (os.cpu_count() or 1))


@dataclass(frozen=True)
class EmbeddedState:
    root: Path

    @property
    def airflow_home(self) -> Path:
        return self.root / "airflow"

    @property
    def mlflow_dir(self) -> Path:
        return self.root / "mlflow"

    @property
    def tracking_uri(self) -> str:
        return f"sqlite:///{self.mlflow_dir / 'mlflow.db'}"

    @property
    def artifact_root(self) -> Path:
        return self.mlflow_dir / "artifacts"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def notification_file(self) -> Path:
        return self.root / "notifications.log"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    @property
    def predictions_dir(self) -> Path:
        """The answers `make serve`'s servers log (`<model>/<alias>-<host>.jsonl`), what rollout-evaluate judges."""
        return self.root / "predictions"

    def prepare(self) -> None:
        for folder in (self.airflow_home, self.mlflow_dir, self.artifact_root, self.data_dir, self.logs_dir):
            folder.mkdir(parents=True, exist_ok=True)

    def environment(self, base: dict[str, str]) -> dict[str, str]:
        """`base` plus what Airflow (SQLite metadata DB, launcher local) and the steps need."""
        venv_bin = str(Path(sys.executable).parent)
        base = base | _source_connections(base)
        return base | {
            "PATH": f"{venv_bin}:{base.get('PATH', '')}",
            "AIRFLOW_HOME": str(self.airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            # `make run`: runs start only when triggered (the master run, the UI, the REST API). `make ui` turns it on
            # (services.local_airflow): weekly runs when their time comes, and data-triggered runs (asset events).
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.airflow_home / 'airflow.db'}",
            # LocalExecutor's worker processes, sized to the machine (Airflow's default is 32): one task per model
            # DAG at once and the master's own; the master's triggers wait in the triggerer, holding none.
            "AIRFLOW__CORE__PARALLELISM": str(local_parallelism()),
            "NIVESH_LAUNCHER": "local",
            "AIRFLOW_VAR_NIVESH_MLFLOW_TRACKING_URI": self.tracking_uri,
            "AIRFLOW_VAR_NIVESH_MLFLOW_ARTIFACT_ROOT": str(self.artifact_root),
            "AIRFLOW_VAR_NIVESH_DATA_ROOT": str(self.data_dir),
            "AIRFLOW_VAR_NIVESH_NOTIFICATION_FILE": str(self.notification_file),
            "AIRFLOW_VAR_NIVESH_PREDICTIONS_DIR": str(self.predictions_dir),  # make serve's answers
            # Where registered versions link the Airflow run that trained them: `make ui`, which serves this state
            # dir's runs on AIRFLOW_PORT (8080 by default); `make run`'s own Airflow is gone once it ends.
            "AIRFLOW_VAR_NIVESH_AIRFLOW_BASE_URL": f"http://127.0.0.1:{base.get('AIRFLOW_PORT') or 8080}",
            "MLFLOW_TRACKING_URI": self.tracking_uri,
        }


def _source_connections(base: dict[str, str]) -> dict[str, str]:
    """NIVESH_SOURCE_DB as the Airflow connection each declared source names (`postgres_default`)."""
    url = base.get(SOURCE_DB_VARIABLE, "")
    connections = {model.source.connection for model in MODELS if model.source}
    return {f"AIRFLOW_CONN_{connection.upper()}": url for connection in connections} if url else {}
