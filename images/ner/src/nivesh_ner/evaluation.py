"""Entity precision, recall and F1 (overall and per label) against the gate; scoring a champion."""

import mlflow
import pandas as pd

from nivesh_common.gate_command import Measurement, TrainedRun
from nivesh_common.safe_models import load_estimator
from nivesh_common.tracking import load_table
from nivesh_contract.names import TEST_SPLIT
from nivesh_ner.schema import ENTITIES, TEXT, spans_of


def to_examples(nlp, table: pd.DataFrame) -> list:
    from spacy.training import Example

    return [
        Example.from_dict(nlp.make_doc(text), {"entities": spans_of(entities)})
        for text, entities in zip(table[TEXT], table[ENTITIES], strict=True)
    ]


def entity_scores(nlp, table: pd.DataFrame) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Overall entity metrics, and precision/recall/F1 per label, of `nlp` on the annotated table."""
    scores = nlp.evaluate(to_examples(nlp, table))
    metrics = {
        "test_entity_f1": float(scores["ents_f"]),
        "test_entity_precision": float(scores["ents_p"]),
        "test_entity_recall": float(scores["ents_r"]),
    }
    per_label = {label: {k: float(v) for k, v in prf.items()} for label, prf in (scores["ents_per_type"] or {}).items()}
    return metrics, per_label


def per_label_metrics(per_label: dict[str, dict[str, float]]) -> dict[str, float]:
    """`test_f1_AMOUNT`, `test_precision_AMOUNT`, ... as flat MLflow metrics."""
    names = {"p": "precision", "r": "recall", "f": "f1"}
    return {f"test_{names[key]}_{label}": value for label, prf in per_label.items() for key, value in prf.items()}


def measure_entities(run: TrainedRun) -> Measurement:
    """Entity precision, recall and F1 of the run's pipeline on its test split; per label logged on the run."""
    metrics, per_label = entity_scores(load_model(run.model_uri), load_table(run.run_id, TEST_SPLIT))
    mlflow.log_metrics(per_label_metrics(per_label))
    mlflow.log_dict(per_label, "evaluation/per_label_report.json")
    return Measurement(metrics, {"per_label_f1": {label: round(prf["f"], 4) for label, prf in per_label.items()}})


def load_model(model_uri: str):
    """The spaCy pipeline inside the served model (or a version's from before, in the spacy flavour)."""
    return load_estimator(model_uri, "nlp", mlflow.spacy.load_model)


def promotion_score(model_uri: str, model_run_id: str, evaluation_run_id: str) -> float:
    """Entity F1 of a pipeline on the test split of `evaluation_run_id` (a promotion.Scorer)."""
    metrics, _ = entity_scores(load_model(model_uri), load_table(evaluation_run_id, TEST_SPLIT))
    return metrics["test_entity_f1"]
