"""`nivesh-ner`: the financial NER's steps (see the README's data contract)."""

import logging
from typing import Annotated

import typer

from nivesh_common.cli import run_app, step, step_app
from nivesh_common.options import RunId, Seed
from nivesh_common.registry import PromotionPolicy
from nivesh_common.registry_commands import add_registry_commands
from nivesh_ner import MODEL_NAME
from nivesh_ner.gates import DEFAULT_MIN_ENTITY_F1, PROMOTION_METRIC, PROMOTION_TOLERANCE

log = logging.getLogger("nivesh.ner")

app = step_app("Financial NER (spaCy): data, training, gates and registry steps.")

JsonlPath = Annotated[str, typer.Option("--data", help="Local path or fsspec URL of a JSONL file of annotated texts.")]
BasePipeline = Annotated[
    str | None,
    typer.Option(help="spaCy pipeline package or directory to start from; default: a blank English pipeline."),
]


@app.command("sample-data")
@step
def sample_data(
    out: Annotated[str, typer.Option("--out", help="Where to write the JSONL; never overwritten.")],
    rows: Annotated[int, typer.Option(min=50)] = 800,
    seed: Seed = 5,
) -> dict:
    """Write synthetic annotated messages (bank alerts, questions) with AMOUNT, MERCHANT, DATE, ACCOUNT, CATEGORY."""
    from nivesh_common.data import write_table
    from nivesh_ner.sample_data import annotated_messages

    messages = annotated_messages(rows, seed)
    write_table(messages, out)
    spans = messages["entities"].explode().dropna()
    counts = spans.map(lambda span: span[2]).value_counts().to_dict()
    log.info("wrote %d messages to %s; entities: %s", len(messages), out, counts)
    return {"path": out, "rows": len(messages), "entities": {str(k): int(v) for k, v in counts.items()}}


def _examples(data: str, nlp):
    """The file as read (for lineage and drift, like every model's) and its checked examples."""
    import pandas as pd

    from nivesh_common.data import read_records
    from nivesh_ner.schema import parse_examples

    records = read_records(data)
    return pd.DataFrame.from_records([record for _, record in records]), parse_examples(records, data, nlp)


@app.command()
@step
def validate(data: JsonlPath, base_pipeline: BasePipeline = None) -> dict:
    """Check each record: non-empty `text`; spans in the text, on token boundaries, not overlapping, known labels."""
    from nivesh_ner.schema import spans_of
    from nivesh_ner.training import base_pipeline as load_pipeline

    _, examples = _examples(data, load_pipeline(base_pipeline).nlp)
    labels = examples["entities"].map(spans_of).explode().dropna().map(lambda span: span[2])
    return {
        "path": data,
        "rows": len(examples),
        "entities": len(labels),
        "per_label": {str(k): int(v) for k, v in labels.value_counts().items()},
    }


@app.command()
@step
def train(
    data: JsonlPath,
    base_pipeline: BasePipeline = None,
    epochs: Annotated[int, typer.Option(min=1)] = 30,
    dropout: Annotated[float, typer.Option(min=0.0, max=0.9)] = 0.2,
    patience: Annotated[int, typer.Option(min=1, help="Epochs without better validation entity F1.")] = 3,
    seed: Seed = 42,
) -> dict:
    """Train on a shuffled 80% (10% validation for early stopping, 10% test); log the spaCy pipeline."""
    from nivesh_common.tracking import training_run
    from nivesh_ner.training import TrainingConfig, train_recognizer
    from nivesh_ner.training import base_pipeline as load_pipeline

    base = load_pipeline(base_pipeline)
    raw, examples = _examples(data, base.nlp)
    config = TrainingConfig(base_pipeline, epochs, dropout, patience, seed)
    with training_run(MODEL_NAME) as run:
        trained = train_recognizer(base, raw, examples, config, data)
    return {"run_id": run.info.run_id, **trained}


@app.command()
@step
def evaluate(
    run_id: RunId,
    min_entity_f1: Annotated[float, typer.Option(min=0.0, max=1.0)] = DEFAULT_MIN_ENTITY_F1,
) -> dict:
    """Entity precision, recall and F1 (overall and per label) on the run's test split, against the gate."""
    import mlflow

    from nivesh_common.gates import enforce_gate, evaluate_gate, record_gate
    from nivesh_common.settings import load_tracking_settings
    from nivesh_common.tracking import connect, get_run, load_table, model_uri_of
    from nivesh_ner.evaluation import TEST_SPLIT, entity_scores, load_model, per_label_metrics, thresholds

    client = connect(load_tracking_settings())
    run = get_run(client, run_id)
    metrics, per_label = entity_scores(load_model(model_uri_of(run)), load_table(run_id, TEST_SPLIT))
    with mlflow.start_run(run_id=run_id):
        mlflow.log_metrics(metrics | per_label_metrics(per_label))
        mlflow.log_dict(per_label, "evaluation/per_label_report.json")
    gate = evaluate_gate("evaluate", metrics, thresholds(min_entity_f1))
    record_gate(run_id, gate)
    enforce_gate(gate)
    return {
        "run_id": run_id,
        "metrics": {name: round(value, 6) for name, value in metrics.items()},
        "per_label_f1": {label: round(prf["f"], 4) for label, prf in per_label.items()},
        "gate": gate,
    }


add_registry_commands(
    app,
    MODEL_NAME,
    PromotionPolicy(metric=PROMOTION_METRIC, tolerance=PROMOTION_TOLERANCE, required_gates=("evaluate",)),
    "nivesh_ner.evaluation:score_champion",
)


def main() -> None:
    run_app(app, "nivesh-ner")
