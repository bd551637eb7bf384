"""The credit data contract: what `validate` and `validate-features` check, and what `train` relies on.

Any table with a binary target column is accepted; the declared defaults describe our sample schema.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from nivesh_common.data import require_columns
from nivesh_common.errors import BadInputError

MIN_ROWS = 50
# Each class in every part of the stratified 70/15/15 split: at least 3 rows of it in the test split.
MIN_PER_CLASS = 20
FLOAT32_MAX = float(np.finfo(np.float32).max)  # XGBoost works in float32: larger numbers become infinite

# Engineered features and the range a sane pipeline produces for them (inclusive).
ENGINEERED_FEATURE_RANGES = {
    "debt_to_income": (0.0, 10.0),
    "loan_to_income": (0.0, 50.0),
    "credit_utilization": (0.0, 2.0),
}


@dataclass(frozen=True)
class TargetSpec:
    column: str
    positive_label: str


def encode_target(table: pd.DataFrame, target: TargetSpec, source: str) -> pd.Series:
    """Check the target column and return it as 0/1 (1 = the positive label, e.g. a default)."""
    require_columns(table, [target.column], source)
    values = table[target.column]
    missing = values.isna().to_numpy().nonzero()[0]
    if missing.size:
        raise BadInputError(
            f"{source}: column {target.column}: {missing.size} row(s) have no value, first at row {missing[0] + 1}"
        )
    labels = values.astype(str)
    classes = sorted(labels.unique())
    if len(classes) < 2:
        raise BadInputError(f"{source}: column {target.column}: only one class ({classes[0]}); need two to train")
    if len(classes) > 2:
        raise BadInputError(
            f"{source}: column {target.column}: {len(classes)} classes ({', '.join(classes[:5])}...); expected 2"
        )
    if target.positive_label not in classes:
        raise BadInputError(
            f"{source}: --positive-label {target.positive_label} is not a value of column {target.column} "
            f"(values: {', '.join(classes)})"
        )
    return (labels == target.positive_label).astype(int).rename(target.column)


def check_table(table: pd.DataFrame, target: TargetSpec, protected_attribute: str | None, source: str) -> pd.Series:
    """Everything `train` needs of a table; returns the encoded target."""
    require_columns(table, [target.column] + ([protected_attribute] if protected_attribute else []), source)
    if len(table) < MIN_ROWS:
        raise BadInputError(f"{source}: {len(table)} rows; need at least {MIN_ROWS} to train and evaluate")
    empty = [str(column) for column in table.columns if table[column].isna().all()]
    if empty:
        raise BadInputError(f"{source}: column(s) {', '.join(empty)} have no values at all")
    labels = encode_target(table, target, source)
    counts = labels.value_counts()
    if counts.min() < MIN_PER_CLASS:
        named = " and ".join(f"{count} {'positive' if label else 'negative'}" for label, count in counts.items())
        raise BadInputError(
            f"{source}: column {target.column}: {named} rows; need at least {MIN_PER_CLASS} of each class to split "
            "into train, validation and test"
        )
    _check_numbers(table.drop(columns=[target.column]), source)
    return labels


def _check_numbers(table: pd.DataFrame, source: str) -> None:
    """Numeric columns: missing values are fine (XGBoost learns a direction for them); infinities are not."""
    for column in table.select_dtypes("number").columns:
        values = table[column].to_numpy(dtype=float)
        bad = np.isinf(values) | (np.abs(np.nan_to_num(values)) > FLOAT32_MAX)
        if bad.any():
            row = int(bad.nonzero()[0][0])
            raise BadInputError(
                f"{source}: column {column}: row {row + 1} is {table[column].iloc[row]}, not a finite number "
                f"within ±{FLOAT32_MAX:.3g}"
            )


def check_engineered_features(table: pd.DataFrame, source: str) -> dict[str, dict[str, float]]:
    """Engineered features present, numeric, finite and in range; returns their min and max."""
    require_columns(table, list(ENGINEERED_FEATURE_RANGES), source)
    summary = {}
    for column, (low, high) in ENGINEERED_FEATURE_RANGES.items():
        values = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values) | (values < low) | (values > high)
        if bad.any():
            row = int(bad.nonzero()[0][0])
            raise BadInputError(
                f"{source}: column {column}: row {row + 1} is {table[column].iloc[row]}, "
                f"expected a finite number in [{low}, {high}] ({int(bad.sum())} such row(s))"
            )
        summary[column] = {"min": float(values.min()), "max": float(values.max())}
    return summary
