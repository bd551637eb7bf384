"""Test-split metrics, the evaluation gate's thresholds, plots, and scoring a registered champion."""

import mlflow
import numpy as np
import pandas as pd
from sklearn.metrics import (
    ConfusionMatrixDisplay,
    RocCurveDisplay,
    accuracy_score,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)
from xgboost import XGBClassifier

from nivesh_common.gate_command import Measurement, TrainedRun
from nivesh_common.plots import log_figure
from nivesh_common.safe_models import load_estimator
from nivesh_common.tracking import load_table
from nivesh_contract.names import TEST_SPLIT
from nivesh_credit_risk.features import feature_matrix, load_feature_spec

LABEL = "_label"
THRESHOLD = 0.5  # default probability at which an application is refused (the served model's decision)


def classification_metrics(labels: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    predicted = (scores >= THRESHOLD).astype(int)
    return {
        "test_accuracy": accuracy_score(labels, predicted),
        "test_precision": precision_score(labels, predicted, zero_division=0),
        "test_recall": recall_score(labels, predicted, zero_division=0),
        "test_f1": f1_score(labels, predicted, zero_division=0),
        "test_roc_auc": roc_auc_score(labels, scores),
    }


def measure_classification(run: TrainedRun) -> Measurement:
    """Accuracy, precision, recall, F1 and ROC AUC of the run's model on its test split."""
    test = load_table(run.run_id, TEST_SPLIT)
    scores = score(load_model(run.model_uri), run.run_id, test)
    return Measurement(classification_metrics(test[LABEL].to_numpy(), scores))


def log_evaluation_plots(labels: np.ndarray, scores: np.ndarray) -> None:
    log_figure(RocCurveDisplay.from_predictions(labels, scores, name="test").figure_, "plots/roc_curve.png")
    display = ConfusionMatrixDisplay.from_predictions(
        labels, (scores >= THRESHOLD).astype(int), display_labels=["repaid", "default"]
    )
    log_figure(display.figure_, "plots/confusion_matrix.png")


def score(model: XGBClassifier, run_id: str, test: pd.DataFrame) -> np.ndarray:
    """Default probabilities of `model` (trained in `run_id`) on an evaluation table."""
    return model.predict_proba(feature_matrix(test, load_feature_spec(run_id), f"evaluation data of run {run_id}"))[
        :, 1
    ]


def load_model(model_uri: str) -> XGBClassifier:
    """The classifier inside the served model (or a version's from before, in the xgboost flavour)."""
    return load_estimator(model_uri, "classifier", mlflow.xgboost.load_model)


def promotion_score(model_uri: str, model_run_id: str, evaluation_run_id: str) -> float:
    """ROC AUC of a model (its features as `model_run_id` logged them) on the test split of `evaluation_run_id`."""
    test = load_table(evaluation_run_id, TEST_SPLIT)
    return float(roc_auc_score(test[LABEL], score(load_model(model_uri), model_run_id, test)))
