"""Feature detection from the data itself: numeric columns as they are, the rest as categories
(XGBoost's native categorical support), identifier-like columns dropped."""

from dataclasses import asdict, dataclass, field

import mlflow
import pandas as pd
from pandas.api import types

from nivesh_common.errors import BadInputError

FEATURE_SPEC = "feature_spec.json"


@dataclass(frozen=True)
class FeatureSpec:
    numeric: list[str]
    categorical: list[str]
    dropped: dict[str, str] = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        return self.numeric + self.categorical

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "FeatureSpec":
        return cls(**data)


def detect_features(table: pd.DataFrame, exclude: list[str]) -> FeatureSpec:
    numeric, categorical, dropped = [], [], {}
    for column in table.columns:
        if column in exclude:
            continue
        values = table[column]
        if types.is_bool_dtype(values) or types.is_numeric_dtype(values):
            numeric.append(column)
        elif values.nunique() == len(values):
            dropped[column] = "unique in every row (an identifier)"
        else:
            categorical.append(column)
    if not numeric and not categorical:
        raise BadInputError(f"no feature columns left besides {', '.join(exclude)}")
    return FeatureSpec(numeric, categorical, dropped)


def feature_matrix(table: pd.DataFrame, spec: FeatureSpec, source: str) -> pd.DataFrame:
    missing = [column for column in spec.columns if column not in table.columns]
    if missing:
        raise BadInputError(f"{source}: missing feature column(s) {', '.join(missing)}")
    matrix = table[spec.columns].copy()
    for column in spec.numeric:
        matrix[column] = matrix[column].astype(float)
    for column in spec.categorical:
        # XGBoost re-codes categories by value at prediction time, so unseen orders are safe.
        matrix[column] = matrix[column].astype(str).astype("category")
    return matrix


def load_feature_spec(run_id: str) -> FeatureSpec:
    """The feature spec that `train` logged with the model."""
    return FeatureSpec.from_dict(mlflow.artifacts.load_dict(f"runs:/{run_id}/{FEATURE_SPEC}"))
