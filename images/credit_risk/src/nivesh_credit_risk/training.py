"""Train the XGBoost scorer on a reproducible train/validation/test split and log it to MLflow."""

import logging
from dataclasses import dataclass

import mlflow
import pandas as pd
from mlflow.models import infer_signature
from sklearn.model_selection import train_test_split
from xgboost import XGBClassifier

from nivesh_common.logs import Stopwatch
from nivesh_common.tracking import MODEL_URI_TAG, log_table, log_training_data
from nivesh_credit_risk.evaluation import LABEL, TEST_SPLIT, log_evaluation_plots
from nivesh_credit_risk.features import FEATURE_SPEC, detect_features, feature_matrix
from nivesh_credit_risk.schema import TargetSpec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingConfig:
    target: TargetSpec
    protected_attribute: str | None
    seed: int = 42
    test_size: float = 0.15
    validation_size: float = 0.15
    n_estimators: int = 400
    learning_rate: float = 0.08
    max_depth: int = 5
    early_stopping_rounds: int = 30


def split(table: pd.DataFrame, labels: pd.Series, config: TrainingConfig):
    """Stratified train / validation / test split, the same for the same seed."""
    rest, test, rest_y, test_y = train_test_split(
        table, labels, test_size=config.test_size, stratify=labels, random_state=config.seed
    )
    validation_share = config.validation_size / (1 - config.test_size)
    train, validation, train_y, validation_y = train_test_split(
        rest, rest_y, test_size=validation_share, stratify=rest_y, random_state=config.seed
    )
    return (train, train_y), (validation, validation_y), (test, test_y)


def train_scorer(table: pd.DataFrame, labels: pd.Series, config: TrainingConfig, source: str) -> dict:
    """Fit and log inside the active MLflow run; returns what the next steps need."""
    exclude = [config.target.column] + ([config.protected_attribute] if config.protected_attribute else [])
    spec = detect_features(table, exclude)
    for column, reason in spec.dropped.items():
        log.info("not a feature: %s (%s)", column, reason)
    (train, train_y), (validation, validation_y), (test, test_y) = split(table, labels, config)
    log.info("split %d rows: train %d, validation %d, test %d", len(table), len(train), len(validation), len(test))

    model = XGBClassifier(
        n_estimators=config.n_estimators,
        learning_rate=config.learning_rate,
        max_depth=config.max_depth,
        tree_method="hist",
        enable_categorical=True,
        eval_metric="auc",
        early_stopping_rounds=config.early_stopping_rounds,
        random_state=config.seed,
        n_jobs=-1,
    )
    train_x = feature_matrix(train, spec, source)
    watch = Stopwatch()
    model.fit(train_x, train_y, eval_set=[(feature_matrix(validation, spec, source), validation_y)], verbose=False)
    fit_seconds = watch.seconds
    validation_auc = float(model.best_score)
    log.info(
        "trained %d trees in %.1fs; validation ROC AUC %.4f", model.best_iteration + 1, fit_seconds, validation_auc
    )

    mlflow.log_params(
        {
            "target": config.target.column,
            "positive_label": config.target.positive_label,
            "protected_attribute": config.protected_attribute or "",
            "seed": config.seed,
            "n_estimators": config.n_estimators,
            "learning_rate": config.learning_rate,
            "max_depth": config.max_depth,
            "early_stopping_rounds": config.early_stopping_rounds,
            "numeric_features": len(spec.numeric),
            "categorical_features": len(spec.categorical),
        }
    )
    mlflow.log_metrics(
        {"validation_roc_auc": validation_auc, "best_iteration": model.best_iteration, "fit_seconds": fit_seconds}
    )
    data_sha256 = log_training_data(table, source, config.target.column)
    mlflow.log_dict(spec.to_dict(), FEATURE_SPEC)

    test_x = feature_matrix(test, spec, source)
    evaluation = test[[*spec.columns, *([config.protected_attribute] if config.protected_attribute else [])]]
    log_table(evaluation.assign(**{LABEL: test_y.to_numpy()}), TEST_SPLIT)
    log_evaluation_plots(test_y.to_numpy(), model.predict_proba(test_x)[:, 1])

    example = train_x.head(5)
    # The xgboost flavour takes categorical columns as pandas `category` (see feature_spec.json).
    # An input example would be replayed through pyfunc serving as plain strings, which XGBoost
    # rejects, so the example is logged beside the model instead of inside it.
    model_info = mlflow.xgboost.log_model(
        model,
        name="model",
        signature=infer_signature(example, model.predict_proba(example)[:, 1]),
        model_format="ubj",
    )
    mlflow.log_dict(example.astype(object).to_dict(orient="split"), "model_input_example.json")
    mlflow.set_tag(MODEL_URI_TAG, model_info.model_uri)
    return {
        "model_uri": model_info.model_uri,
        "rows": len(table),
        "data_sha256": data_sha256,
        "validation_roc_auc": round(validation_auc, 6),
        "fit_seconds": fit_seconds,
        "features": spec.to_dict(),
    }
