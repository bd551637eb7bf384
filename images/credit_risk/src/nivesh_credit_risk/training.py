"""Train the XGBoost scorer on a reproducible train/validation/test split: tuned within a budget, class-weighted,
calibrated, with a chosen decision threshold; log it all to MLflow."""

import json
import logging
import tempfile
from dataclasses import asdict, dataclass, field
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
from nivesh_credit_risk.calibration import CalibrationMethod, fit_calibration
from nivesh_credit_risk.evaluation import LABEL, log_evaluation_plots, log_importance_plot, log_tuning_plot
from nivesh_credit_risk.features import FEATURE_SPEC, FeatureSpec, detect_features, feature_matrix
from nivesh_credit_risk.operating_point import OperatingPoint, ThresholdRule, choose_threshold
from nivesh_credit_risk.reasons import contributions
from nivesh_credit_risk.schema import TargetSpec
from nivesh_credit_risk.scoring import SCORING, Scoring
from nivesh_credit_risk.tuning import Hyperparameters, TuningBudget, search

log = logging.getLogger(__name__)
OPERATING_POINT = "operating_point.json"
TUNING_HISTORY = "tuning/trials.json"
IMPORTANCE_ROWS = 2_000


@dataclass(frozen=True)
class DecisionPolicy:
    """How probabilities are calibrated and where the decision threshold goes (both on the validation split)."""

    calibration: CalibrationMethod = CalibrationMethod.sigmoid
    threshold_rule: ThresholdRule = ThresholdRule.cost
    cost_ratio: float = 5.0  # a missed default costs this many wrongly refused applicants
    target_recall: float = 0.65  # the recall rule's: the recall gate's default


@dataclass(frozen=True)
class TrainingConfig:
    target: TargetSpec
    protected_attribute: str | None
    seed: int = 42
    test_size: float = 0.15
    validation_size: float = 0.15
    hyperparameters: Hyperparameters = field(default_factory=Hyperparameters)
    tuning: TuningBudget = field(default_factory=lambda: TuningBudget(trials=0, seconds=60.0))
    policy: DecisionPolicy = field(default_factory=DecisionPolicy)
    early_stopping_rounds: int = 30

    def params(self) -> dict:
        return {
            "target": self.target.column,
            "positive_label": self.target.positive_label,
            "protected_attribute": self.protected_attribute or "",
            "seed": self.seed,
            "early_stopping_rounds": self.early_stopping_rounds,
            "tune_trials": self.tuning.trials,
            "tune_seconds": self.tuning.seconds,
            "calibration": str(self.policy.calibration),
            "threshold_rule": str(self.policy.threshold_rule),
            "cost_ratio": self.policy.cost_ratio,
            "target_recall": self.policy.target_recall,
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
    """Tune (within the budget), fit, calibrate and choose the threshold; log all of it inside the active run."""
    exclude = [config.target.column] + ([config.protected_attribute] if config.protected_attribute else [])
    spec = detect_features(table, exclude)
    for column, reason in spec.dropped.items():
        log.info("not a feature: %s (%s)", column, reason)
    train, validation, test = split(table, labels, config)
    sizes = (len(part.labels) for part in (train, validation, test))
    log.info("split %d rows: train %d, validation %d, test %d", len(table), *sizes)
    fitting = Fitting(
        feature_matrix(train.features, spec, source),
        train.labels,
        feature_matrix(validation.features, spec, source),
        validation.labels,
        config,
    )
    hyperparameters = tuned_hyperparameters(fitting, config)
    watch = Stopwatch()
    model = fitting.fit(hyperparameters)
    fit_seconds = watch.seconds
    log.info(
        "trained %d trees in %.1fs; validation ROC AUC %.4f", model.best_iteration + 1, fit_seconds, model.best_score
    )
    scoring, point = decision_policy(model, fitting, spec, config.policy)
    mlflow.log_params(
        config.params()
        | asdict(hyperparameters)
        | {"scale_pos_weight": round(fitting.scale_pos_weight, 6)}
        | {"numeric_features": len(spec.numeric), "categorical_features": len(spec.categorical)}
    )
    mlflow.log_metrics(
        {
            "validation_roc_auc": float(model.best_score),
            "best_iteration": model.best_iteration,
            "fit_seconds": fit_seconds,
            "decision_threshold": point.threshold,
            "validation_precision_at_threshold": point.validation_precision,
            "validation_recall_at_threshold": point.validation_recall,
        }
    )
    mlflow.log_dict(spec.to_dict(), FEATURE_SPEC)
    mlflow.log_dict(scoring.to_dict(), SCORING)
    mlflow.log_dict(point.to_dict(), OPERATING_POINT)
    log_test_split(model, test, scoring, config, source)
    model_uri = log_scorer(model, scoring, train.features.head(5))
    details = {
        "validation_roc_auc": round(float(model.best_score), 6),
        "fit_seconds": fit_seconds,
        "decision_threshold": round(point.threshold, 6),
        "features": spec.to_dict(),
    }
    return LoggedModel(model_uri, details)


@dataclass(frozen=True)
class Fitting:
    """The training and validation matrices, ready for any number of fits (the search's and the final one)."""

    train: pd.DataFrame
    train_labels: pd.Series
    validation: pd.DataFrame
    validation_labels: pd.Series
    config: TrainingConfig

    @property
    def scale_pos_weight(self) -> float:
        """Defaults weigh as much as repayments in total: the training split's ratio of the two."""
        positives = int(self.train_labels.sum())
        return (len(self.train_labels) - positives) / positives

    def fit(self, hyperparameters: Hyperparameters) -> XGBClassifier:
        """XGBoost with native categories and early stopping on validation ROC AUC."""
        model = XGBClassifier(
            **asdict(hyperparameters),
            scale_pos_weight=self.scale_pos_weight,
            tree_method="hist",
            enable_categorical=True,
            eval_metric="auc",
            early_stopping_rounds=self.config.early_stopping_rounds,
            random_state=self.config.seed,
            n_jobs=-1,
        )
        model.fit(self.train, self.train_labels, eval_set=[(self.validation, self.validation_labels)], verbose=False)
        return model


def tuned_hyperparameters(fitting: Fitting, config: TrainingConfig) -> Hyperparameters:
    """The configured hyperparameters, or with a search budget, the best the search found (logged)."""
    if not config.tuning.trials:
        return config.hyperparameters
    tuned = search(
        lambda hyperparameters: float(fitting.fit(hyperparameters).best_score),
        config.hyperparameters,
        config.tuning,
        config.seed,
        # Logged as each trial ends: the run's page follows the search, and a tracking server lost during a long
        # search ends the step one trial later, not after the whole search.
        lambda number, auc: mlflow.log_metric("tuning_trial_validation_roc_auc", auc, step=number),
    )
    mlflow.log_metrics(
        {
            "tuning_trials": len(tuned.history),
            "tuning_seconds": float(tuned.history["seconds"].sum()),
            "tuning_best_validation_roc_auc": tuned.best_validation_auc,
            "tuning_default_validation_roc_auc": float(tuned.history["validation_roc_auc"].iloc[0]),
        }
    )
    mlflow.log_table(tuned.history, TUNING_HISTORY)
    log_tuning_plot(tuned.history)
    return tuned.best


def decision_policy(
    model: XGBClassifier, fitting: Fitting, spec: FeatureSpec, policy: DecisionPolicy
) -> tuple[Scoring, OperatingPoint]:
    """Calibration fitted on the validation split, and the threshold chosen there on calibrated probabilities."""
    raw = model.predict_proba(fitting.validation)[:, 1]
    labels = fitting.validation_labels.to_numpy()
    calibration = fit_calibration(raw, labels, policy.calibration)
    point = choose_threshold(
        calibration.apply(raw), labels, policy.threshold_rule, policy.cost_ratio, policy.target_recall
    )
    log.info(
        "decision threshold %.4f (%s rule; validation precision %.3f, recall %.3f), calibration %s",
        point.threshold, point.rule, point.validation_precision, point.validation_recall, calibration.method,
    )  # fmt: skip
    return Scoring(spec, point.threshold, calibration), point


def log_test_split(model: XGBClassifier, test: Split, scoring: Scoring, config: TrainingConfig, source: str) -> None:
    """The test split (features, protected attribute, label) for the gates and the champion, and its plots:
    ROC, confusion matrix at the threshold, reliability before and after calibration, feature importance."""
    kept = [*scoring.features.columns, *([config.protected_attribute] if config.protected_attribute else [])]
    log_table(test.features[kept].assign(**{LABEL: test.labels.to_numpy()}), TEST_SPLIT)
    matrix = feature_matrix(test.features, scoring.features, source)
    raw = model.predict_proba(matrix)[:, 1]
    log_evaluation_plots(test.labels.to_numpy(), raw, scoring)
    # TreeSHAP costs about 0.3 ms per row here: a sample is enough for the global importance
    log_importance_plot(contributions(model, matrix.sample(min(len(matrix), IMPORTANCE_ROWS), random_state=0)))


def log_scorer(model: XGBClassifier, scoring: Scoring, rows: pd.DataFrame) -> str:
    """The served model: raw application rows in (`rows` as its input example); probability, decision and
    reasons out.

    The signature keeps the contract's own column types: whole-number columns stay integers (MLflow refuses
    integers where it expects doubles, and decimals where it expects integers).
    """
    example = rows[scoring.features.columns]
    output = pyfunc.score_applications(model, scoring, example)
    with tempfile.TemporaryDirectory() as work:
        model.save_model(f"{work}/classifier.ubj")
        Path(work, SCORING).write_text(json.dumps(scoring.to_dict()))
        artifacts = {"classifier": f"{work}/classifier.ubj", "scoring": f"{work}/{SCORING}"}
        requirements = pinned_requirements("xgboost-cpu", "pandas", "scikit-learn")
        return log_python_model(pyfunc.__file__, artifacts, example, output, requirements)
