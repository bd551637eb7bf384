"""Why a score is what it is: XGBoost's own per-feature contributions (TreeSHAP, `pred_contribs`), which with
the base value sum to the score's log-odds. The top reasons of an application are the features that raised
its default risk most; the global importance is the mean absolute contribution of each feature."""

import numpy as np
import pandas as pd

TOP_REASONS = 3


def contributions(classifier, matrix: pd.DataFrame) -> pd.DataFrame:
    """One column per feature and `base_value`; each row sums to the margin of the classifier's score."""
    import xgboost

    booster = classifier.get_booster()
    values = booster.predict(
        xgboost.DMatrix(matrix, enable_categorical=True),
        pred_contribs=True,
        iteration_range=(0, classifier.best_iteration + 1),  # the trees predict_proba uses after early stopping
    )
    return pd.DataFrame(values, columns=[*matrix.columns, "base_value"], index=matrix.index)


def top_reasons(contributed: pd.DataFrame, count: int = TOP_REASONS) -> list[list[str]]:
    """For each row, up to `count` features that raised the risk, largest first."""
    features = contributed.drop(columns="base_value")
    names = features.columns.to_numpy()
    order = np.argsort(-features.to_numpy(), axis=1, kind="stable")[:, :count]
    return [
        [str(name) for name, value in zip(names[ranked], row[ranked], strict=True) if value > 0]
        for ranked, row in zip(order, features.to_numpy(), strict=True)
    ]


def global_importance(contributed: pd.DataFrame) -> pd.Series:
    return contributed.drop(columns="base_value").abs().mean().sort_values()
