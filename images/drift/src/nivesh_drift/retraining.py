"""The retrain decision: no production version, changed data or drift all mean train; data that does not
cover what production was trained on means stop (a gate, exit 3)."""

import logging
import tempfile
from pathlib import Path

import mlflow
import pandas as pd
from mlflow import MlflowClient

from nivesh_common.data import require_columns, table_sha256
from nivesh_common.registry import version_by_alias
from nivesh_common.settings import TrackingSettings
from nivesh_common.tracking import load_table, run_labels, use_experiment
from nivesh_contract.names import (
    DATA_SHA256_TAG,
    DRIFT_EXPERIMENT,
    MODEL_TAG,
    PRODUCTION,
    PRODUCTION_VERSION_TAG,
    REFERENCE_SNAPSHOT,
    STEP_TAG,
)
from nivesh_contract.results import DriftDecision
from nivesh_drift.data_quality import require_coverage
from nivesh_drift.profiles import PROFILES

log = logging.getLogger(__name__)


def drift_decision(
    client: MlflowClient,
    settings: TrackingSettings,
    model: str,
    data: tuple[pd.DataFrame, str],
    drift_share: float,
    date_order: str = "",
) -> DriftDecision:
    """`data`: the new table and where it came from."""
    table, source = data
    production = version_by_alias(client, model, PRODUCTION)
    if production is None:
        return {"model": model, "retrain": True, "reason": "no production model"}
    from nivesh_drift.detection import measure_drift  # Evidently takes seconds to import: only when comparing

    run = client.get_run(production.run_id)
    reference = load_table(production.run_id, REFERENCE_SNAPSHOT)
    require_columns(table, list(reference.columns), source)
    require_coverage(model, production, table, source)
    # Derived before the drift run opens: a bad date in the new data is bad input and leaves no run behind.
    compared = PROFILES[model].compared(reference, table[reference.columns], source, date_order)
    data_changed = table_sha256(table) != run.data.tags.get(DATA_SHA256_TAG)
    use_experiment(DRIFT_EXPERIMENT, settings)
    run_name, airflow_tags = run_labels(f"{model}-drift", "check")
    with (
        tempfile.TemporaryDirectory() as tmp,
        mlflow.start_run(
            run_name=run_name,
            tags={MODEL_TAG: model, STEP_TAG: "check_drift", **airflow_tags},
            nested=mlflow.active_run() is not None,  # inside `report`'s run
        ) as drift_run,
    ):
        html = Path(tmp) / f"{model}_drift.html"
        drift = measure_drift(*compared, drift_share, html)
        mlflow.log_artifact(str(html), artifact_path="reports")
        mlflow.log_metric("drift_share", drift["drift_share"])
        mlflow.set_tag(PRODUCTION_VERSION_TAG, production.version)
    reasons = [
        *(["drift detected"] if drift["dataset_drift"] else []),
        *(["data changed since production was trained"] if data_changed else []),
    ]
    return {
        "model": model,
        "production_version": int(production.version),
        **drift,
        "data_changed": data_changed,
        "retrain": bool(reasons),
        "reason": "; ".join(reasons) or "no drift and unchanged data",
        "report_uri": f"{drift_run.info.artifact_uri}/reports/{html.name}",
        "drift_run_id": drift_run.info.run_id,
    }


def summary_table(rows: list[dict]) -> str:
    """A Markdown table: one line per model."""
    lines = ["| model | production | drift share | drifted columns | retrain | why |", "|---|---|---|---|---|---|"]
    for row in rows:
        drifted = ", ".join(column["column"] for column in row.get("drifted_columns", [])) or "-"
        share = f"{row['drift_share']:.2f}" if "drift_share" in row else "-"
        production = f"v{row['production_version']}" if "production_version" in row else "none"
        lines.append(f"| {row['model']} | {production} | {share} | {drifted} | {row['retrain']} | {row['reason']} |")
    return "\n".join(lines)
