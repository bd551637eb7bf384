"""Fairness across age groups with fairlearn's MetricFrame; gate on the disparate impact ratio."""

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame, false_positive_rate, selection_rate, true_positive_rate
from pandas.api import types
from sklearn.metrics import accuracy_score

from nivesh_common.errors import BadInputError
from nivesh_common.gates import Threshold

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


def disparate_impact_threshold(minimum: float) -> list[Threshold]:
    return [Threshold("disparate_impact_ratio", minimum=minimum)]
