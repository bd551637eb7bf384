"""`nivesh-ner`: the financial NER's steps (see the README's data contract)."""

from typing import Annotated

import typer

from nivesh_common.cli import step
from nivesh_common.gate_command import Measurement, TrainedRun, gate_command
from nivesh_common.model_cli import Sample, model_app, sample_data_command
from nivesh_common.options import Seed
from nivesh_contract.catalog import model_named
from nivesh_contract.results import Trained

MODEL = model_named("financial_ner")
app, main = model_app(MODEL, "Financial NER (spaCy)", "nivesh_ner.evaluation:promotion_score")

JsonlPath = Annotated[str, typer.Option("--data", help="Local path or fsspec URL of a JSONL file of annotated texts.")]
BasePipeline = Annotated[
    str | None,
    typer.Option(help="spaCy pipeline package or directory to start from; default: a blank English pipeline."),
]


@sample_data_command(app)
def sample_data(rows: Annotated[int, typer.Option(min=50)] = 800, seed: Seed = 5) -> Sample:
    """Write synthetic annotated messages (bank alerts, questions) with AMOUNT, MERCHANT, DATE, ACCOUNT, CATEGORY."""
    from nivesh_ner.sample_data import annotated_messages

    messages = annotated_messages(rows, seed)
    labels = messages["entities"].explode().dropna().map(lambda span: span[2]).value_counts()
    return Sample(messages, {"entities": {str(label): int(count) for label, count in labels.items()}})


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
) -> Trained:
    """Train on a shuffled 80% (10% validation for early stopping, 10% test); log the spaCy pipeline."""
    from nivesh_common.training import TrainingData, run_training
    from nivesh_ner.training import TrainingConfig, train_recognizer
    from nivesh_ner.training import base_pipeline as load_pipeline

    base = load_pipeline(base_pipeline)
    raw, examples = _examples(data, base.nlp)
    config = TrainingConfig(base_pipeline, epochs, dropout, patience, seed)
    return run_training(MODEL, TrainingData(raw, data, None), lambda: train_recognizer(base, examples, config))


@gate_command(app, MODEL)
def evaluate(run: TrainedRun) -> Measurement:
    """Entity precision, recall and F1 (overall and per label) on the run's test split, against the gate."""
    from nivesh_ner.evaluation import measure_entities

    return measure_entities(run)
