"""precision@k and recall on labelled anomalies, plots, and scoring a registered champion."""

import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest
from sklearn.metrics import PrecisionRecallDisplay

from nivesh_anomaly.features import FEATURES
from nivesh_anomaly.schema import LABEL
from nivesh_common.gate_command import Measurement, TrainedRun
from nivesh_common.plots import log_figure
from nivesh_common.safe_models import load_estimator, load_sklearn_model
from nivesh_common.tracking import load_table
from nivesh_contract.names import TEST_SPLIT


def anomaly_scores(model: IsolationForest, features: pd.DataFrame) -> np.ndarray:
    """Higher is more anomalous."""
    return -model.score_samples(features[FEATURES])


def precision_at_k(labels: np.ndarray, scores: np.ndarray, k: int | None = None) -> tuple[float, int]:
    """Share of true anomalies among the k highest scores; k defaults to the number of labelled anomalies."""
    k = int(labels.sum()) if k is None else min(k, len(labels))
    top = np.argsort(-scores, kind="stable")[:k]
    return float(labels[top].mean()) if k else float("nan"), k


def detection_metrics(model: IsolationForest, test: pd.DataFrame, k: int | None = None) -> dict[str, float]:
    labels = test[LABEL].to_numpy()
    scores = anomaly_scores(model, test)
    flagged = model.predict(test[FEATURES]) == -1
    precision, used_k = precision_at_k(labels, scores, k)
    return {
        "test_precision_at_k": precision,
        "test_k": used_k,
        "test_recall": float(flagged[labels == 1].mean()),
        "test_flagged_share": float(flagged.mean()),
    }


def measure_detection(run: TrainedRun, k: int | None) -> Measurement:
    """precision@k and recall of the run's model on the labelled anomalies of its test period."""
    test = load_table(run.run_id, TEST_SPLIT)
    return Measurement(detection_metrics(load_model(run.model_uri), test, k))


def log_evaluation_plots(model: IsolationForest, test: pd.DataFrame) -> None:
    labels, scores = test[LABEL].to_numpy(), anomaly_scores(model, test)
    log_figure(
        PrecisionRecallDisplay.from_predictions(labels, scores, name="test").figure_, "plots/precision_recall.png"
    )
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots()
    axes.hist([scores[labels == 0], scores[labels == 1]], bins=50, density=True, label=["normal", "labelled anomaly"])
    axes.set_xlabel("anomaly score (higher is more anomalous)")
    axes.set_ylabel("density")
    axes.set_title("Test period: scores of normal and labelled anomalous transactions")
    axes.legend()
    log_figure(figure, "plots/score_distribution.png")


# The one type beyond skops' defaults our Isolation Forest needs: its trees' storage.
TRUSTED_TYPES = ("sklearn.tree._tree.Tree",)


def load_model(model_uri: str) -> IsolationForest:
    """The Isolation Forest inside the served model (or a version's from before: sklearn flavour, skops)."""
    return load_estimator(model_uri, "forest", lambda uri: load_sklearn_model(uri, TRUSTED_TYPES))


def promotion_score(model_uri: str, model_run_id: str, evaluation_run_id: str) -> float:
    """precision@k of a model on the test split of `evaluation_run_id` (a promotion.Scorer)."""
    test = load_table(evaluation_run_id, TEST_SPLIT)
    return precision_at_k(test[LABEL].to_numpy(), anomaly_scores(load_model(model_uri), test))[0]
