"""MLflow helpers: connecting with a clear error, experiments, data lineage, artifacts."""

import hashlib
import importlib.metadata
import logging
import re
import tempfile
import warnings
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

import mlflow
import pandas as pd
import requests
from mlflow import MlflowClient
from mlflow.entities import Run
from mlflow.exceptions import MlflowException

from nivesh_common.data import flattened, table_sha256
from nivesh_common.errors import BadInputError, TrackingUnavailableError
from nivesh_common.lineage import lineage_tags
from nivesh_common.logs import redacted
from nivesh_common.settings import TrackingSettings, airflow_task
from nivesh_contract.names import (
    AIRFLOW_TAG_PREFIX,
    DATA_ROWS_TAG,
    DATA_SHA256_TAG,
    DATA_SOURCE_TAG,
    EXPERIMENT_KIND_TAG,
    MODEL_TAG,
    MODEL_TRAINING_KIND,
    MODEL_URI_TAG,
    REFERENCE_SNAPSHOT,
    experiment_name,
)

log = logging.getLogger(__name__)

REFERENCE_MAX_ROWS = 10_000


def pinned_requirements(*distributions: str) -> list[str]:
    """A logged model's pip requirements, pinned to what the step runs, mlflow first.

    Passed to `log_model` because inferring them would load the model once more in a subprocess. mlflow's
    version comes from the module: the step images install it as the `mlflow-skinny` distribution.
    """
    return [f"mlflow=={mlflow.__version__}", *(f"{name}=={importlib.metadata.version(name)}" for name in distributions)]


def log_python_model(
    code_file: str,
    artifacts: dict[str, str],
    example: pd.DataFrame,
    output: pd.DataFrame,
    requirements: list[str],
    name: str = "model",
) -> str:
    """Log a served model as MLflow "models from code" (`code_file` calls `mlflow.models.set_model`; no pickle)
    with `artifacts` in their libraries' own formats; the signature is `example` in, `output` out, and MLflow
    replays the input example through the model when it is logged. Returns the model URI."""
    from mlflow.models import infer_signature

    with warnings.catch_warnings():
        # Whole-number columns stay integers on purpose (MLflow refuses int64 where a signature says double);
        # its hint to declare them as doubles does not apply.
        warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer column")
        signature = infer_signature(example, output)
    model_info = mlflow.pyfunc.log_model(
        name=name,
        python_model=code_file,
        artifacts=artifacts,
        input_example=example,
        signature=signature,
        pip_requirements=requirements,
    )
    return model_info.model_uri


def connect(settings: TrackingSettings) -> MlflowClient:
    """Point MLflow at the tracking store, failing fast and readably when it is unreachable."""
    uri = settings.mlflow_tracking_uri
    _check_reachable(uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _check_reachable(uri: str) -> None:
    parsed = urlparse(uri)
    if parsed.scheme in ("http", "https"):
        try:
            requests.get(f"{uri.rstrip('/')}/health", timeout=10).raise_for_status()
        except requests.RequestException as exc:
            raise TrackingUnavailableError(
                f"MLflow tracking server {uri} cannot be reached ({type(exc).__name__}); "
                "check MLFLOW_TRACKING_URI and that the server is running"
            ) from None
    elif parsed.scheme.startswith("sqlite"):
        database = Path(uri.split(":///", 1)[-1])
        if not database.parent.is_dir():
            raise TrackingUnavailableError(
                f"MLflow tracking store {uri} cannot be reached: folder {database.parent} does not exist"
            )


def run_labels(subject: str, step: str) -> tuple[str, dict[str, str]]:
    """A run's name and tags: `<subject>_<Airflow run id>` and the task's ids in a pipeline (so the run leads back
    to its Airflow run), `<subject>_<step>_<UTC time>` when a step runs by hand; in both, where its code came from
    (image, source revision, package: nivesh_common.lineage)."""
    task = airflow_task()
    tags = {f"{AIRFLOW_TAG_PREFIX}{field}": value for field, value in task.items()} | lineage_tags()
    if "run_id" in task:
        return f"{subject}_{task['run_id']}", tags
    return f"{subject}_{step}_{datetime.now(UTC):%Y%m%dT%H%M%SZ}", tags


def fail_orphaned_runs(experiment_id: str, tags: dict[str, str]) -> None:
    """Runs an earlier try of this Airflow task left RUNNING, marked FAILED: a try that lost its tracking server
    could not close its run, and the retry is the first step to reach the server again. By hand: nothing."""
    task = [f"{AIRFLOW_TAG_PREFIX}{field}" for field in ("dag_id", "run_id", "task_id")]
    try_number = f"{AIRFLOW_TAG_PREFIX}try_number"
    if not all(key in tags for key in task):
        return
    # Compared here, not in the filter string: an Airflow run id may hold quotes.
    for run in mlflow.search_runs([experiment_id], "attributes.status = 'RUNNING'", output_format="list"):
        earlier_try = run.data.tags.get(try_number) != tags.get(try_number)
        if earlier_try and all(run.data.tags.get(key) == tags[key] for key in task):
            MlflowClient().set_terminated(run.info.run_id, "FAILED")
            log.warning(
                "run %s of try %s was left running (its tracking server was lost): marked FAILED",
                run.info.run_id, run.data.tags.get(try_number, "?"),
            )  # fmt: skip


def use_experiment(model_name: str, settings: TrackingSettings) -> str:
    """Select (creating if needed) the model's experiment, marked as model training; returns its id."""
    name = experiment_name(model_name)
    experiment = mlflow.get_experiment_by_name(name)
    if experiment is None:
        location = f"{settings.artifact_root.rstrip('/')}/{model_name}" if settings.artifact_root else None
        mlflow.create_experiment(name, artifact_location=location, tags={EXPERIMENT_KIND_TAG: MODEL_TRAINING_KIND})
    elif EXPERIMENT_KIND_TAG not in experiment.tags:  # made before the tag was set
        MlflowClient().set_experiment_tag(experiment.experiment_id, EXPERIMENT_KIND_TAG, MODEL_TRAINING_KIND)
    return mlflow.set_experiment(name).experiment_id


RUN_ID = re.compile(r"[0-9a-f]{32}")  # what MLflow makes: a UUID's hex digits


def get_run(client: MlflowClient, run_id: str) -> Run:
    if not RUN_ID.fullmatch(run_id):
        raise BadInputError(f"--run-id {run_id[:80]!r}: not an MLflow run id (32 hexadecimal digits)")
    try:
        return client.get_run(run_id)
    except MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            raise BadInputError(f"--run-id {run_id}: no such MLflow run") from None
        raise


def require_run_of(run: Run, model: str, consequence: str) -> None:
    """A run another model trained is bad input to this model's steps (a pasted run id from the wrong DAG)."""
    trained_for = run.data.tags.get(MODEL_TAG)
    if trained_for != model:
        raise BadInputError(
            f"--run-id {run.info.run_id}: a run of {trained_for or 'no model'}, not of {model}; {consequence}"
        )


def log_training_data(table: pd.DataFrame, source: str, targets: str | None) -> str:
    """Record what the model was trained on: dataset input, content hash, row count, reference snapshot. The source
    as recorded has no credentials: the run's tags and dataset, and from them the version's tag and description,
    are read by everyone who can open MLflow."""
    source = redacted(source)
    sha256 = table_sha256(table)
    with warnings.catch_warnings():
        # MLflow registers its local-file source class twice, so every local path "can be interpreted in
        # multiple ways" (both the same class); nothing to choose.
        warnings.filterwarnings("ignore", message="The specified dataset source can be interpreted in multiple ways")
        dataset = mlflow.data.from_pandas(table, source=source, targets=targets, name=Path(source).name)
    mlflow.log_input(dataset, context="training")
    mlflow.set_tags({DATA_SHA256_TAG: sha256, DATA_ROWS_TAG: len(table), DATA_SOURCE_TAG: source})
    snapshot = flattened(table.sample(min(len(table), REFERENCE_MAX_ROWS), random_state=0))
    log_table(snapshot, REFERENCE_SNAPSHOT)
    return sha256


def log_table(table: pd.DataFrame, artifact_path: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(tmp) / Path(artifact_path).name
        table.to_parquet(local, index=False)
        mlflow.log_artifact(str(local), artifact_path=str(Path(artifact_path).parent))


def load_table(run_id: str, artifact_path: str) -> pd.DataFrame:
    with tempfile.TemporaryDirectory() as tmp:
        try:
            local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=artifact_path, dst_path=tmp)
        except (MlflowException, OSError):
            raise BadInputError(f"run {run_id}: artifact {artifact_path} not found; was it logged by train?") from None
        return pd.read_parquet(local)


def artifact_name(text: str) -> str:
    """A name from the data (a category, a label) made safe as a file name and an MLflow metric name.

    Anything but letters, digits, `_`, `-` and `.` becomes `_`; a changed name gets a short hash of the
    original, so that `food/drinks` and `food drinks` stay apart, and no name can climb out of a folder.
    """
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._") or "unnamed"
    return safe if safe == text else f"{safe}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def model_uri_of(run: Run) -> str:
    uri = run.data.tags.get(MODEL_URI_TAG)
    if not uri:
        raise BadInputError(f"--run-id {run.info.run_id}: run has no logged model (tag {MODEL_URI_TAG})")
    return uri
