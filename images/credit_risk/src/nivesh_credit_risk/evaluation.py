"""Test-split metrics at the run's decision threshold and threshold-free ones, the plots a reviewer reads,
and scoring a registered champion."""

import mlflow
import numpy as np
import pandas as pd
from sklearn.calibration import CalibrationDisplay
from sklearn.metrics import (
    ConfusionMatrixDisplay,
    RocCurveDisplay,
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)
from xgboost import XGBClassifier

from nivesh_common.gate_command import Measurement, TrainedRun
from nivesh_common.plots import log_figure, plt
from nivesh_common.safe_models import load_estimator
from nivesh_common.tracking import load_table
from nivesh_contract.names import TEST_SPLIT
from nivesh_credit_risk.features import feature_matrix
from nivesh_credit_risk.reasons import global_importance
from nivesh_credit_risk.scoring import Scoring, load_scoring

LABEL = "_label"


def classification_metrics(labels: np.ndarray, probabilities: np.ndarray, threshold: float) -> dict[str, float]:
    """At the decision threshold (accuracy, precision, recall, F1) and free of it (ROC AUC, PR AUC, Brier)."""
    predicted = (probabilities >= threshold).astype(int)
    return {
        "test_accuracy": accuracy_score(labels, predicted),
        "test_precision": precision_score(labels, predicted, zero_division=0),
        "test_recall": recall_score(labels, predicted, zero_division=0),
        "test_f1": f1_score(labels, predicted, zero_division=0),
        "test_roc_auc": roc_auc_score(labels, probabilities),
        "test_pr_auc": average_precision_score(labels, probabilities),
        "test_brier_score": brier_score_loss(labels, probabilities),
    }


def measure_classification(run: TrainedRun) -> Measurement:
    """The classification metrics of the run's model on its test split, at the threshold it chose."""
    test = load_table(run.run_id, TEST_SPLIT)
    scoring = load_scoring(run.run_id)
    probabilities = score(load_model(run.model_uri), scoring, test, f"evaluation data of run {run.run_id}")
    metrics = classification_metrics(test[LABEL].to_numpy(), probabilities, scoring.threshold)
    return Measurement(metrics, {"decision_threshold": round(scoring.threshold, 6)})


def log_evaluation_plots(labels: np.ndarray, raw: np.ndarray, scoring: Scoring) -> None:
    """ROC curve, confusion matrix at the threshold, and the reliability of the probabilities before and after
    calibration (with the Brier score of each, as metrics too)."""
    probabilities = scoring.calibration.apply(raw)
    log_figure(RocCurveDisplay.from_predictions(labels, probabilities, name="test").figure_, "plots/roc_curve.png")
    display = ConfusionMatrixDisplay.from_predictions(
        labels, (probabilities >= scoring.threshold).astype(int), display_labels=["repaid", "default"]
    )
    display.ax_.set_title(f"decision threshold {scoring.threshold:.3f}")
    log_figure(display.figure_, "plots/confusion_matrix.png")
    brier = {"before": brier_score_loss(labels, raw), "after": brier_score_loss(labels, probabilities)}
    mlflow.log_metrics({f"test_brier_score_{moment}_calibration": value for moment, value in brier.items()})
    figure, axes = plt.subplots(figsize=(6, 6))
    for name, values in (("before", raw), ("after", probabilities)):
        label = f"{name} calibration (Brier {brier[name]:.4f})"
        CalibrationDisplay.from_predictions(labels, values, n_bins=10, strategy="quantile", name=label, ax=axes)
    axes.set_title(f"reliability on the test split ({scoring.calibration.method} calibration)")
    log_figure(figure, "plots/reliability.png")


def log_importance_plot(contributed: pd.DataFrame) -> None:
    importance = global_importance(contributed)
    figure, axes = plt.subplots(figsize=(7, 0.35 * len(importance) + 1.2))
    axes.barh(importance.index, importance.to_numpy())
    axes.set_xlabel(f"mean |contribution| to the log-odds of default ({len(contributed):,} test applications)")
    figure.tight_layout()
    log_figure(figure, "plots/feature_importance.png")


def log_tuning_plot(history: pd.DataFrame) -> None:
    figure, axes = plt.subplots(figsize=(7, 4))
    axes.plot(history["trial"], history["validation_roc_auc"], "o", label="trial")
    axes.plot(history["trial"], history["validation_roc_auc"].cummax(), "-", label="best so far")
    axes.set_xlabel("trial (0: the untuned defaults)")
    axes.set_ylabel("validation ROC AUC")
    axes.legend()
    log_figure(figure, "plots/tuning_history.png")


def score(model: XGBClassifier, scoring: Scoring, table: pd.DataFrame, source: str) -> np.ndarray:
    """Calibrated default probabilities of `model` on an evaluation table, as the served model computes them."""
    return scoring.calibration.apply(model.predict_proba(feature_matrix(table, scoring.features, source))[:, 1])


def load_model(model_uri: str) -> XGBClassifier:
    """The classifier inside the served model (or a version's from before, in the xgboost flavour)."""
    return load_estimator(model_uri, "classifier", mlflow.xgboost.load_model)


def promotion_score(model_uri: str, model_run_id: str, evaluation_run_id: str) -> float:
    """ROC AUC of a model (scoring as `model_run_id` logged it) on the test split of `evaluation_run_id`."""
    test = load_table(evaluation_run_id, TEST_SPLIT)
    probabilities = score(load_model(model_uri), load_scoring(model_run_id), test, f"test split of {evaluation_run_id}")
    return float(roc_auc_score(test[LABEL], probabilities))
