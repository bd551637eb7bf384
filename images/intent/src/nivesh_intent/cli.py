"""`nivesh-intent`: the intent classifier's steps (see the README's data contract)."""

from typing import Annotated

import typer

from nivesh_common.cli import step
from nivesh_common.gate_command import Measurement, TrainedRun, gate_command
from nivesh_common.model_cli import Sample, declared_options, model_app, sample_data_command
from nivesh_common.options import DataPath, Seed
from nivesh_contract.catalog import model_named
from nivesh_contract.results import Trained

MODEL = model_named("intent_classifier")
app, main = model_app(MODEL, "Intent classifier (DistilBERT fine-tuning)", "nivesh_intent.evaluation:promotion_score")


@sample_data_command(app)
def sample_data(
    per_intent: Annotated[int, typer.Option(min=10, help="Messages per intent.")] = 60,
    seed: Seed = 7,
) -> Sample:
    """Write a synthetic banking-assistant data set (JSONL `{text, intent}`, 24 intents)."""
    from nivesh_intent.sample_data import intent_examples

    examples = intent_examples(per_intent, seed)
    return Sample(examples, {"intents": int(examples["intent"].nunique())})


@app.command()
@step
def validate(data: DataPath) -> dict:
    """Check the messages: `text` and `intent` in every record, no empty text, at least 10 examples per intent."""
    from nivesh_common.data import read_table
    from nivesh_intent.schema import LABEL, TEXT, parse_examples

    examples = parse_examples(read_table(data), data)
    counts = examples[LABEL].value_counts()
    return {
        "path": data,
        "rows": len(examples),
        "intents": len(counts),
        "fewest_examples": {"intent": counts.idxmin(), "count": int(counts.min())},
        "mean_words": round(float(examples[TEXT].str.split().str.len().mean()), 2),
    }


@app.command()
@step
@declared_options(MODEL, "train")
def train(
    data: DataPath,
    epochs: Annotated[int, typer.Option(min=1)] = 8,
    batch_size: Annotated[int, typer.Option(min=1)] = 32,
    learning_rate: Annotated[
        float | None, typer.Option(min=0.0, help="Default: 5e-5 to fine-tune, 1e-3 for a model built from its config.")
    ] = None,
    patience: Annotated[int, typer.Option(min=1, help="Epochs without better validation macro F1.")] = 2,
    seed: Seed = 42,
    **contract: str,
) -> Trained:
    """Fine-tune on a stratified 80% (10% validation for early stopping, 10% test); log the model as pyfunc."""
    from nivesh_common.data import read_table
    from nivesh_common.training import TrainingData, run_training
    from nivesh_intent.schema import LABEL, parse_examples
    from nivesh_intent.training import TrainingConfig, train_classifier

    raw = read_table(data)
    examples = parse_examples(raw, data)
    config = TrainingConfig(contract["base_model"], epochs, batch_size, learning_rate, patience, seed)
    return run_training(MODEL, TrainingData(raw, data, LABEL), lambda: train_classifier(examples, config))


@gate_command(app, MODEL)
def evaluate(
    run: TrainedRun,
    data: Annotated[
        str | None, typer.Option(help="Labelled messages to evaluate on; default: the run's test split.")
    ] = None,
) -> Measurement:
    """Accuracy and macro F1 against the gate; logs a per-intent report and a confusion matrix."""
    from nivesh_common.data import read_table
    from nivesh_common.tracking import load_table
    from nivesh_contract.names import TEST_SPLIT
    from nivesh_intent.evaluation import known_intents, measure_classification
    from nivesh_intent.schema import evaluation_examples

    if data:
        examples = evaluation_examples(read_table(data), data, known_intents(run.run_id))
    else:
        examples = load_table(run.run_id, TEST_SPLIT)
    return measure_classification(run, examples)
