"""Fairness across age groups with fairlearn's MetricFrame; gate on the disparate impact ratio."""

import mlflow
import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame, false_positive_rate, selection_rate, true_positive_rate
from pandas.api import types
from sklearn.metrics import accuracy_score

from nivesh_common.errors import BadInputError
from nivesh_common.gate_command import Measurement, TrainedRun
from nivesh_common.tracking import load_table
from nivesh_contract.names import TEST_SPLIT
from nivesh_credit_risk.evaluation import LABEL, load_model, score
from nivesh_credit_risk.scoring import load_scoring

AGE_BINS = [0, 25, 35, 50, np.inf]
AGE_LABELS = ["18-25", "26-35", "36-50", "51-plus"]


def protected_groups(values: pd.Series) -> pd.Series:
    """Age bands for a numeric attribute; the values themselves for a categorical one."""
    if types.is_numeric_dtype(values):
        return pd.cut(values, AGE_BINS, labels=AGE_LABELS).astype(str).rename(values.name)
    return values.astype(str)


def check_group_sizes(groups: pd.Series, minimum: int) -> dict[str, int]:
    counts = groups.value_counts().sort_index()
    small = counts[counts < minimum]
    if not small.empty:
        named = ", ".join(f"{group} ({count})" for group, count in small.items())
        raise BadInputError(
            f"{groups.name} group(s) {named} have fewer than {minimum} samples in the test split; "
            "fairness cannot be judged (use more data or --min-group-size)"
        )
    return {str(group): int(count) for group, count in counts.items()}


def fairness_metrics(labels: np.ndarray, predicted: np.ndarray, groups: pd.Series) -> tuple[dict, float]:
    """Per-group metrics, and the disparate impact ratio: lowest over highest selection rate."""
    frame = MetricFrame(
        metrics={
            "accuracy": accuracy_score,
            "selection_rate": selection_rate,
            "true_positive_rate": true_positive_rate,
            "false_positive_rate": false_positive_rate,
        },
        y_true=labels,
        y_pred=predicted,
        sensitive_features=groups,
    )
    ratio = float(frame.ratio(method="between_groups")["selection_rate"])
    by_group = {
        str(group): {metric: float(value) for metric, value in row.items()} for group, row in frame.by_group.iterrows()
    }
    return by_group, ratio


def measure_fairness(run: TrainedRun, min_group_size: int) -> Measurement:
    """The disparate impact ratio on the run's test split; per-group metrics and a report logged on the run."""
    run_id = run.run_id
    attribute = run.params.get("protected_attribute")
    if not attribute:
        raise BadInputError(f"--run-id {run_id}: trained without --protected-attribute; nothing to judge")
    test = load_table(run_id, TEST_SPLIT)
    groups = protected_groups(test[attribute])
    sizes = check_group_sizes(groups, min_group_size)
    scoring = load_scoring(run_id)  # decisions at the run's own threshold, as the served model makes them
    probabilities = score(load_model(run.model_uri), scoring, test, f"test split of run {run_id}")
    predicted = (probabilities >= scoring.threshold).astype(int)
    by_group, ratio = fairness_metrics(test[LABEL].to_numpy(), predicted, groups)
    for group, metrics in by_group.items():
        mlflow.log_metrics({f"fairness/{group}/{name}": value for name, value in metrics.items()})
    mlflow.log_dict({"attribute": attribute, "group_sizes": sizes, "by_group": by_group}, "fairness/report.json")
    details = {"attribute": attribute, "disparate_impact_ratio": round(ratio, 6), "group_sizes": sizes}
    return Measurement({"disparate_impact_ratio": ratio}, details | {"by_group": by_group})
