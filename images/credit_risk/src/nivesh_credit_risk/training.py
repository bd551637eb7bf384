"""Train the XGBoost scorer on a reproducible train/validation/test split and log it to MLflow."""

import json
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pandas as pd
from sklearn.model_selection import train_test_split
from xgboost import XGBClassifier

from nivesh_common.logs import Stopwatch
from nivesh_common.tracking import log_python_model, log_table, pinned_requirements
from nivesh_common.training import LoggedModel
from nivesh_contract.names import TEST_SPLIT
from nivesh_credit_risk import pyfunc
from nivesh_credit_risk.evaluation import LABEL, THRESHOLD, log_evaluation_plots
from nivesh_credit_risk.features import FEATURE_SPEC, FeatureSpec, detect_features, feature_matrix
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

    def params(self) -> dict:
        return {
            "target": self.target.column,
            "positive_label": self.target.positive_label,
            "protected_attribute": self.protected_attribute or "",
            "seed": self.seed,
            "n_estimators": self.n_estimators,
            "learning_rate": self.learning_rate,
            "max_depth": self.max_depth,
            "early_stopping_rounds": self.early_stopping_rounds,
        }


@dataclass(frozen=True)
class Split:
    features: pd.DataFrame  # the raw columns (with the protected attribute, which is never a feature)
    labels: pd.Series


def split(table: pd.DataFrame, labels: pd.Series, config: TrainingConfig) -> tuple[Split, Split, Split]:
    """Stratified train / validation / test split, the same for the same seed."""
    rest, test, rest_y, test_y = train_test_split(
        table, labels, test_size=config.test_size, stratify=labels, random_state=config.seed
    )
    validation_share = config.validation_size / (1 - config.test_size)
    train, validation, train_y, validation_y = train_test_split(
        rest, rest_y, test_size=validation_share, stratify=rest_y, random_state=config.seed
    )
    return Split(train, train_y), Split(validation, validation_y), Split(test, test_y)


def train_scorer(table: pd.DataFrame, labels: pd.Series, config: TrainingConfig, source: str) -> LoggedModel:
    """Fit and log inside the active MLflow run."""
    exclude = [config.target.column] + ([config.protected_attribute] if config.protected_attribute else [])
    spec = detect_features(table, exclude)
    for column, reason in spec.dropped.items():
        log.info("not a feature: %s (%s)", column, reason)
    train, validation, test = split(table, labels, config)
    sizes = (len(part.labels) for part in (train, validation, test))
    log.info("split %d rows: train %d, validation %d, test %d", len(table), *sizes)
    model, fit_seconds = fit(train, validation, spec, config, source)
    validation_auc = float(model.best_score)
    mlflow.log_params(
        config.params() | {"numeric_features": len(spec.numeric), "categorical_features": len(spec.categorical)}
    )
    mlflow.log_metrics(
        {"validation_roc_auc": validation_auc, "best_iteration": model.best_iteration, "fit_seconds": fit_seconds}
    )
    mlflow.log_dict(spec.to_dict(), FEATURE_SPEC)
    log_test_split(model, test, spec, config, source)
    model_uri = log_scorer(model, spec, train.features.head(5))
    details = {"validation_roc_auc": round(validation_auc, 6), "fit_seconds": fit_seconds, "features": spec.to_dict()}
    return LoggedModel(model_uri, details)


def fit(
    train: Split, validation: Split, spec: FeatureSpec, config: TrainingConfig, source: str
) -> tuple[XGBClassifier, float]:
    """XGBoost with native categories and early stopping on validation ROC AUC; the model and fit seconds."""
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
    watch = Stopwatch()
    model.fit(
        feature_matrix(train.features, spec, source),
        train.labels,
        eval_set=[(feature_matrix(validation.features, spec, source), validation.labels)],
        verbose=False,
    )
    log.info(
        "trained %d trees in %.1fs; validation ROC AUC %.4f", model.best_iteration + 1, watch.seconds, model.best_score
    )
    return model, watch.seconds


def log_test_split(model: XGBClassifier, test: Split, spec: FeatureSpec, config: TrainingConfig, source: str) -> None:
    """The test split (features, protected attribute, label) for the gates and the champion, and its plots."""
    kept = [*spec.columns, *([config.protected_attribute] if config.protected_attribute else [])]
    log_table(test.features[kept].assign(**{LABEL: test.labels.to_numpy()}), TEST_SPLIT)
    scores = model.predict_proba(feature_matrix(test.features, spec, source))[:, 1]
    log_evaluation_plots(test.labels.to_numpy(), scores)


def log_scorer(model: XGBClassifier, spec: FeatureSpec, rows: pd.DataFrame) -> str:
    """The served model: raw application rows in (`rows` as its input example), probability and decision out.

    The signature keeps the contract's own column types: whole-number columns stay integers (MLflow refuses
    integers where it expects doubles, and decimals where it expects integers).
    """
    example = rows[spec.columns]
    output = pyfunc.decide(model.predict_proba(feature_matrix(example, spec, "input example"))[:, 1], THRESHOLD)
    with tempfile.TemporaryDirectory() as work:
        model.save_model(f"{work}/classifier.ubj")
        Path(work, "scoring.json").write_text(json.dumps({"features": spec.to_dict(), "threshold": THRESHOLD}))
        artifacts = {"classifier": f"{work}/classifier.ubj", "scoring": f"{work}/scoring.json"}
        requirements = pinned_requirements("xgboost-cpu", "pandas", "scikit-learn")
        return log_python_model(pyfunc.__file__, artifacts, example, output, requirements)
