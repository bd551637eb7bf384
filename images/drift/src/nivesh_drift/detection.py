"""Evidently 0.7 data drift: per-column tests and the share of drifted columns."""

from pathlib import Path

import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset
from pandas.api import types

COLUMN_DRIFT = "evidently:metric_v2:ValueDrift"
DRIFTED_COUNT = "evidently:metric_v2:DriftedColumnsCount"


def _definition(table: pd.DataFrame) -> DataDefinition:
    numeric = [c for c in table.columns if types.is_numeric_dtype(table[c]) and table[c].nunique() > 2]
    return DataDefinition(numerical_columns=numeric, categorical_columns=[c for c in table.columns if c not in numeric])


def measure_drift(reference: pd.DataFrame, current: pd.DataFrame, drift_share: float, html: Path) -> dict:
    """Drift of `current` against `reference` (same columns); writes the HTML report to `html`."""
    definition = _definition(reference)
    report = Report([DataDriftPreset(drift_share=drift_share)], include_tests=True)
    snapshot = report.run(
        Dataset.from_pandas(current, data_definition=definition),
        Dataset.from_pandas(reference, data_definition=definition),
    )
    snapshot.save_html(str(html))
    result = snapshot.dict()
    scores = {metric["id"]: metric["value"] for metric in result["metrics"]}
    share = next(m["value"]["share"] for m in result["metrics"] if m["config"]["type"] == DRIFTED_COUNT)
    drifted = [
        {
            "column": params["column"],
            "test": params["method"],
            "score": round(float(scores[test["metric_config"]["metric_id"]]), 6),
            "threshold": params["threshold"],
        }
        for test in result["tests"]
        if (params := test["metric_config"]["params"])["type"] == COLUMN_DRIFT and test["status"] == "FAIL"
    ]
    return {"drift_share": round(float(share), 6), "dataset_drift": share >= drift_share, "drifted_columns": drifted}
