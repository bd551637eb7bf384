"""Train the intent classifier inside an MLflow run: fine-tune (`fine_tuning`), then log the figures, the test
split and the model."""

import logging
import tempfile
from pathlib import Path

import mlflow
import pandas as pd

from nivesh_common.tracking import log_table
from nivesh_common.training import LoggedModel
from nivesh_contract.names import TEST_SPLIT
from nivesh_intent import pyfunc
from nivesh_intent.base_model import BaseModel, load_base_model
from nivesh_intent.evaluation import LABEL_MAP
from nivesh_intent.fine_tuning import FineTuned, TrainingConfig, encoded, fine_tune, split
from nivesh_intent.pyfunc import MAX_LENGTH
from nivesh_intent.schema import LABEL, TEXT

log = logging.getLogger(__name__)


def train_classifier(examples: pd.DataFrame, config: TrainingConfig) -> LoggedModel:
    """Fine-tune and log inside the active MLflow run."""
    from transformers import set_seed

    labels = sorted(examples[LABEL].unique())
    train, validation, test = split(examples, config.seed)
    # Before the model exists: its new classification head (and a from-config model's every weight) is drawn from
    # torch's generator; the Trainer seeds only what comes after, so reruns with one seed started apart.
    set_seed(config.seed)
    base = load_base_model(config.base_model, labels, train[TEXT].tolist())
    log.info(
        "%d examples, %d intents: train %d, validation %d, test %d; base %s (%s)",
        len(examples), len(labels), len(train), len(validation), len(test), config.base_model, base.source,
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as work:
        label2id = base.model.config.label2id
        train_set, validation_set = (
            encoded(base.tokenizer, table, label2id, MAX_LENGTH) for table in (train, validation)
        )
        tuned = fine_tune(base, train_set, validation_set, config, Path(work))
        log_fine_tuning(config, base, len(labels), tuned)
        log_table(test.reset_index(drop=True), TEST_SPLIT)
        mlflow.log_dict(dict(enumerate(labels)), LABEL_MAP)
        model_uri = _log_pyfunc(tuned.model_dir, train.head(5)[[TEXT]])
    details = {
        "intents": len(labels),
        "base_model_source": base.source,
        "epochs_run": tuned.epochs_run,
        "train_samples_per_second": round(tuned.samples_per_second, 2),
        "validation_macro_f1": round(tuned.validation_macro_f1, 4),
    }
    return LoggedModel(model_uri, details)


def log_fine_tuning(config: TrainingConfig, base: BaseModel, intents: int, tuned: FineTuned) -> None:
    mlflow.log_params(
        {
            "base_model": config.base_model,
            "epochs": config.epochs,
            "batch_size": config.batch_size,
            "learning_rate": config.rate_for(base),
            "patience": config.patience,
            "seed": config.seed,
            "intents": intents,
        }
    )
    mlflow.set_tags({"nivesh.base_model": config.base_model, "nivesh.base_model_source": base.source})
    mlflow.log_metrics(
        {
            "train_seconds": tuned.train_seconds,
            "train_samples_per_second": tuned.samples_per_second,
            "epochs_run": tuned.epochs_run,
            "validation_macro_f1": tuned.validation_macro_f1,
            "validation_accuracy": tuned.validation_accuracy,
        }
    )


def _log_pyfunc(model_dir: Path, example: pd.DataFrame) -> str:
    from mlflow.models import infer_signature

    from nivesh_common.tracking import pinned_requirements

    output = pd.DataFrame({"intent": ["check_balance"], "confidence": [0.9]})
    model_info = mlflow.pyfunc.log_model(
        name="model",
        python_model=pyfunc.__file__,  # models from code: no pickle
        artifacts={"model_dir": str(model_dir)},
        input_example=example,
        signature=infer_signature(example, output),
        pip_requirements=pinned_requirements("torch", "transformers", "pandas"),
    )
    return model_info.model_uri
