"""The `train` step's frame, the same for every model: one MLflow run in the model's experiment, the
training data recorded (hash, rows, dataset input, reference snapshot), the model logged and tagged.

The model supplies only `fit_and_log`, which runs inside the open run. Everything that checks the
input runs before this is called: bad input opens no run.
"""

import resource
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import mlflow
import pandas as pd

from nivesh_common.coverage import CLASS_COUNTS, class_counts
from nivesh_common.logs import Stopwatch
from nivesh_common.reproducibility import reproduce_note
from nivesh_common.settings import load_tracking_settings
from nivesh_common.tracking import connect, fail_orphaned_runs, log_training_data, run_labels, use_experiment
from nivesh_contract.declaration import ModelDeclaration
from nivesh_contract.names import MODEL_TAG, MODEL_URI_TAG, REPRODUCE_TAG, STEP_TAG
from nivesh_contract.results import Trained


@dataclass(frozen=True)
class TrainingData:
    """The table as read (lineage and drift compare with it), where it came from, and its label column."""

    table: pd.DataFrame
    source: str
    label: str | None


@dataclass(frozen=True)
class LoggedModel:
    """What `fit_and_log` leaves: the logged model's URI and what else the result should say."""

    model_uri: str
    details: dict[str, Any] = field(default_factory=dict)


def run_training(model: ModelDeclaration, data: TrainingData, fit_and_log: Callable[[], LoggedModel]) -> Trained:
    settings = load_tracking_settings()
    connect(settings)
    experiment_id = use_experiment(model.name, settings)
    run_name, airflow_tags = run_labels(model.name, "train")
    fail_orphaned_runs(experiment_id, airflow_tags)
    tags = {MODEL_TAG: model.name, STEP_TAG: "train", **airflow_tags}
    # System metrics (CPU, memory, disk, network; GPU where pynvml finds one) sampled while the run is open.
    with mlflow.start_run(run_name=run_name, tags=tags, log_system_metrics=True) as run:
        watch = Stopwatch()
        data_sha256 = log_training_data(data.table, data.source, data.label)
        _log_class_counts(model, data)
        logged = fit_and_log()
        mlflow.log_metrics({"train_wall_seconds": watch.seconds, "train_peak_rss_mb": peak_rss_mb()})
        mlflow.set_tags(
            {
                MODEL_URI_TAG: logged.model_uri,
                REPRODUCE_TAG: reproduce_note(mlflow.get_run(run.info.run_id).data.params),
            }
        )
    return {
        "run_id": run.info.run_id,
        "model_uri": logged.model_uri,
        "rows": len(data.table),
        "data_sha256": data_sha256,
        **logged.details,
    }


def peak_rss_mb() -> float:
    """The most memory this process, or any child it waited for (data loader workers), held at once."""
    peak_kib = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return round(peak_kib / 1024, 1)  # Linux reports KiB


def _log_class_counts(model: ModelDeclaration, data: TrainingData) -> None:
    """What the model is trained on, class by class: new data is later held against it (coverage)."""
    column = model.coverage.column or data.label
    if column:
        counts = class_counts(data.table, column, model.coverage.spans)
        mlflow.log_dict({"column": column, "counts": counts}, CLASS_COUNTS)
