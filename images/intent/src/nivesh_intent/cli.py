"""`nivesh-intent`: the intent classifier's steps (see the README's data contract)."""

import logging
from typing import Annotated

import typer

from nivesh_common.cli import run_app, step, step_app
from nivesh_common.options import DataPath, OutPath, RunId, Seed
from nivesh_common.registry import PromotionPolicy
from nivesh_common.registry_commands import add_registry_commands
from nivesh_intent import MODEL_NAME
from nivesh_intent.gates import DEFAULT_MIN_ACCURACY, DEFAULT_MIN_MACRO_F1, PROMOTION_METRIC, PROMOTION_TOLERANCE

log = logging.getLogger("nivesh.intent")

app = step_app("Intent classifier (DistilBERT fine-tuning): data, training, gates and registry steps.")


@app.command("sample-data")
@step
def sample_data(
    out: OutPath,
    per_intent: Annotated[int, typer.Option(min=5, help="Messages per intent.")] = 60,
    seed: Seed = 7,
) -> dict:
    """Write a synthetic banking-assistant data set (JSONL `{text, intent}`, 24 intents)."""
    from nivesh_common.data import write_table
    from nivesh_intent.sample_data import intent_examples

    examples = intent_examples(per_intent, seed)
    write_table(examples, out)
    log.info("wrote %d messages, %d intents, to %s", len(examples), examples["intent"].nunique(), out)
    return {"path": out, "rows": len(examples), "intents": int(examples["intent"].nunique())}


@app.command()
@step
def validate(data: DataPath) -> dict:
    """Check the messages: `text` and `intent` in every record, no empty text, at least 5 examples per intent."""
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
def train(
    data: DataPath,
    base_model: Annotated[
        str, typer.Option(help="Hugging Face encoder: hub id or local directory (fine-tuned as a classifier).")
    ] = "distilbert-base-uncased",
    epochs: Annotated[int, typer.Option(min=1)] = 8,
    batch_size: Annotated[int, typer.Option(min=1)] = 32,
    learning_rate: Annotated[
        float | None, typer.Option(min=0.0, help="Default: 5e-5 to fine-tune, 1e-3 for a model built from its config.")
    ] = None,
    patience: Annotated[int, typer.Option(min=1, help="Epochs without better validation macro F1.")] = 2,
    seed: Seed = 42,
) -> dict:
    """Fine-tune on a stratified 80% (10% validation for early stopping, 10% test); log the model as pyfunc."""
    from nivesh_common.data import read_table
    from nivesh_common.tracking import training_run
    from nivesh_intent.schema import parse_examples
    from nivesh_intent.training import TrainingConfig, train_classifier

    raw = read_table(data)
    examples = parse_examples(raw, data)
    config = TrainingConfig(base_model, epochs, batch_size, learning_rate, patience, seed)
    with training_run(MODEL_NAME) as run:
        trained = train_classifier(raw, examples, config, data)
    return {"run_id": run.info.run_id, **trained}


@app.command()
@step
def evaluate(
    run_id: RunId,
    min_accuracy: Annotated[float, typer.Option(min=0.0, max=1.0)] = DEFAULT_MIN_ACCURACY,
    min_macro_f1: Annotated[float, typer.Option(min=0.0, max=1.0)] = DEFAULT_MIN_MACRO_F1,
    data: Annotated[
        str | None, typer.Option(help="Labelled messages to evaluate on; default: the run's test split.")
    ] = None,
) -> dict:
    """Accuracy and macro F1 against the gate; logs a per-intent report and a confusion matrix."""
    import mlflow

    from nivesh_common.data import read_table
    from nivesh_common.gates import enforce_gate, evaluate_gate, record_gate
    from nivesh_common.settings import load_tracking_settings
    from nivesh_common.tracking import connect, get_run, load_table, model_uri_of
    from nivesh_intent.evaluation import TEST_SPLIT, classification_metrics, known_intents, load_model, thresholds
    from nivesh_intent.schema import parse_examples, require_known_intents

    client = connect(load_tracking_settings())
    run = get_run(client, run_id)
    if data:
        examples = parse_examples(read_table(data), data)
        require_known_intents(examples, known_intents(run_id), data)
    else:
        examples = load_table(run_id, TEST_SPLIT)
    with mlflow.start_run(run_id=run_id):
        metrics, report = classification_metrics(load_model(model_uri_of(run)), examples)
        mlflow.log_metrics(metrics)
        mlflow.log_dict(report, "evaluation/per_intent_report.json")
    gate = evaluate_gate("evaluate", metrics, thresholds(min_accuracy, min_macro_f1))
    record_gate(run_id, gate)
    enforce_gate(gate)
    summaries = ("accuracy", "macro avg", "weighted avg")
    per_intent = {name: scores for name, scores in report.items() if name not in summaries}
    weakest = min(per_intent, key=lambda name: per_intent[name]["f1-score"])
    return {
        "run_id": run_id,
        "metrics": {name: round(value, 6) for name, value in metrics.items()},
        "weakest_intent": {"intent": weakest, "f1": round(per_intent[weakest]["f1-score"], 4)},
        "gate": gate,
    }


add_registry_commands(
    app,
    MODEL_NAME,
    PromotionPolicy(metric=PROMOTION_METRIC, tolerance=PROMOTION_TOLERANCE, required_gates=("evaluate",)),
    "nivesh_intent.evaluation:score_champion",
)


def main() -> None:
    run_app(app, "nivesh-intent")
