"""Accuracy and macro F1 against the gates, a per-intent report and a confusion matrix; scoring a champion."""

import mlflow
import pandas as pd
from sklearn.metrics import ConfusionMatrixDisplay, accuracy_score, classification_report, f1_score

from nivesh_common.gate_command import Measurement, TrainedRun
from nivesh_common.plots import log_figure
from nivesh_common.tracking import load_table
from nivesh_contract.names import TEST_SPLIT
from nivesh_intent.schema import LABEL, TEXT

LABEL_MAP = "label_map.json"
SUMMARY_ROWS = ("accuracy", "macro avg", "weighted avg")


def predicted_intents(model, examples: pd.DataFrame) -> pd.Series:
    return model.predict(examples[[TEXT]])["intent"]


def classification_metrics(model, examples: pd.DataFrame) -> tuple[dict[str, float], dict]:
    """test_accuracy and test_macro_f1, and the per-intent report (precision, recall, F1, support)."""
    truth, predicted = examples[LABEL].to_numpy(), predicted_intents(model, examples).to_numpy()
    metrics = {
        "test_accuracy": float(accuracy_score(truth, predicted)),
        "test_macro_f1": float(f1_score(truth, predicted, average="macro")),
    }
    report = classification_report(truth, predicted, output_dict=True, zero_division=0)
    _log_confusion_matrix(truth, predicted)
    return metrics, report


def _log_confusion_matrix(truth, predicted) -> None:
    display = ConfusionMatrixDisplay.from_predictions(truth, predicted, xticks_rotation="vertical", colorbar=False)
    display.figure_.set_size_inches(12, 12)
    display.ax_.set_title("Intent confusion matrix (test split)")
    log_figure(display.figure_, "plots/confusion_matrix.png")


def measure_classification(run: TrainedRun, examples: pd.DataFrame) -> Measurement:
    """Accuracy and macro F1 of the run's model on `examples`; the per-intent report logged on the run."""
    metrics, report = classification_metrics(load_model(run.model_uri), examples)
    mlflow.log_dict(report, "evaluation/per_intent_report.json")
    per_intent = {name: scores for name, scores in report.items() if name not in SUMMARY_ROWS}
    weakest = min(per_intent, key=lambda name: per_intent[name]["f1-score"])
    weakest_f1 = round(per_intent[weakest]["f1-score"], 4)
    counts = {intent: int(count) for intent, count in examples[LABEL].value_counts().sort_index().items()}
    return Measurement(
        metrics, {"weakest_intent": {"intent": weakest, "f1": weakest_f1}, "examples_per_intent": counts}
    )


def load_model(model_uri: str):
    return mlflow.pyfunc.load_model(model_uri)


def known_intents(run_id: str) -> list[str]:
    return list(mlflow.artifacts.load_dict(f"runs:/{run_id}/{LABEL_MAP}").values())


def promotion_score(model_uri: str, model_run_id: str, evaluation_run_id: str) -> float:
    """Macro F1 of a model on the test split of `evaluation_run_id` (a promotion.Scorer)."""
    test = load_table(evaluation_run_id, TEST_SPLIT)
    return float(f1_score(test[LABEL], predicted_intents(load_model(model_uri), test), average="macro"))
