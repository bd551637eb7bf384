"""Fine-tune the encoder with the Hugging Face Trainer; early stopping on validation macro F1."""

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split

from nivesh_common.tracking import log_table
from nivesh_common.training import LoggedModel
from nivesh_contract.names import TEST_SPLIT
from nivesh_intent import pyfunc
from nivesh_intent.base_model import BaseModel, load_base_model
from nivesh_intent.evaluation import LABEL_MAP
from nivesh_intent.pyfunc import MAX_LENGTH
from nivesh_intent.schema import LABEL, TEXT

log = logging.getLogger(__name__)

FINE_TUNING_RATE = 5e-5
FROM_SCRATCH_RATE = 1e-3  # random weights learn nothing at a fine-tuning rate


@dataclass(frozen=True)
class TrainingConfig:
    base_model: str = "distilbert-base-uncased"
    epochs: int = 8
    batch_size: int = 32
    learning_rate: float | None = None  # None: FINE_TUNING_RATE, or FROM_SCRATCH_RATE without pretrained weights
    patience: int = 2
    seed: int = 42

    def rate_for(self, base: BaseModel) -> float:
        return self.learning_rate or (FROM_SCRATCH_RATE if base.source == "config" else FINE_TUNING_RATE)


@dataclass(frozen=True)
class FineTuned:
    """What fine-tuning leaves: the saved model directory and the Trainer's figures."""

    model_dir: Path
    epochs_run: float
    train_seconds: float
    samples_per_second: float
    validation_macro_f1: float
    validation_accuracy: float


def split(examples: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Stratified 80/10/10 train/validation/test split."""
    train, rest = train_test_split(examples, test_size=0.2, stratify=examples[LABEL], random_state=seed)
    validation, test = train_test_split(rest, test_size=0.5, stratify=rest[LABEL], random_state=seed)
    return train, validation, test


def _encoded(tokenizer, table: pd.DataFrame, label2id: dict[str, int]) -> list[dict]:
    """Unpadded examples: the collator pads each batch to its own longest one (dynamic padding)."""
    encodings = tokenizer(table[TEXT].tolist(), truncation=True, max_length=MAX_LENGTH)
    return [
        {"input_ids": ids, "attention_mask": mask, "labels": label2id[label]}
        for ids, mask, label in zip(encodings["input_ids"], encodings["attention_mask"], table[LABEL], strict=True)
    ]


def _metrics(prediction) -> dict[str, float]:
    predicted = np.argmax(prediction.predictions, axis=-1)
    return {
        "accuracy": accuracy_score(prediction.label_ids, predicted),
        "macro_f1": f1_score(prediction.label_ids, predicted, average="macro"),
    }


def _progress_callback():
    from transformers import TrainerCallback

    class ProgressLog(TrainerCallback):
        """Readable progress lines on stderr (what `kubectl logs` shows) instead of progress bars."""

        def on_log(self, args, state, control, logs=None, **kwargs):
            numbers = {key: value for key, value in (logs or {}).items() if isinstance(value, float | int)}
            shown = {key: float(f"{value:.4g}") for key, value in numbers.items()}
            log.info("epoch %.2f step %d/%d %s", state.epoch or 0, state.global_step, state.max_steps, shown)

    return ProgressLog()


def train_classifier(examples: pd.DataFrame, config: TrainingConfig) -> LoggedModel:
    """Fine-tune and log inside the active MLflow run."""
    labels = sorted(examples[LABEL].unique())
    train, validation, test = split(examples, config.seed)
    base = load_base_model(config.base_model, labels, train[TEXT].tolist())
    log.info(
        "%d examples, %d intents: train %d, validation %d, test %d; base %s (%s)",
        len(examples), len(labels), len(train), len(validation), len(test), config.base_model, base.source,
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as work:
        tuned = fine_tune(base, train, validation, config, Path(work))
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


def fine_tune(base: BaseModel, train: pd.DataFrame, validation: pd.DataFrame, config: TrainingConfig, work: Path):
    """The Trainer on the GPU when there is one (bf16 where it supports it); saves the best epoch's model."""
    import torch
    from transformers import DataCollatorWithPadding, EarlyStoppingCallback, Trainer, TrainingArguments
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # progress goes to the log as lines (ProgressLog)
    on_gpu = torch.cuda.is_available()
    bf16 = on_gpu and torch.cuda.is_bf16_supported()
    log.info("device %s%s", "cuda" if on_gpu else "cpu", ", bf16" if bf16 else "")
    arguments = TrainingArguments(
        output_dir=str(work / "checkpoints"),
        num_train_epochs=config.epochs,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=64,
        learning_rate=config.rate_for(base),
        eval_strategy="epoch",
        save_strategy="epoch",
        save_total_limit=1,
        load_best_model_at_end=True,
        metric_for_best_model="macro_f1",
        greater_is_better=True,
        logging_strategy="epoch",
        bf16=bf16,
        train_sampling_strategy="group_by_length",  # batches of similar length: little padding
        report_to="none",
        disable_tqdm=True,
        seed=config.seed,
        use_cpu=not on_gpu,
    )
    label2id = base.model.config.label2id
    trainer = Trainer(
        model=base.model,
        args=arguments,
        train_dataset=_encoded(base.tokenizer, train, label2id),
        eval_dataset=_encoded(base.tokenizer, validation, label2id),
        processing_class=base.tokenizer,
        data_collator=DataCollatorWithPadding(base.tokenizer),
        compute_metrics=_metrics,
        callbacks=[EarlyStoppingCallback(early_stopping_patience=config.patience), _progress_callback()],
    )
    outcome = trainer.train()
    validation_metrics = trainer.evaluate()
    trainer.save_model(str(work / "model"))
    base.tokenizer.save_pretrained(str(work / "model"))
    return FineTuned(
        work / "model",
        float(trainer.state.epoch),
        outcome.metrics["train_runtime"],
        outcome.metrics["train_samples_per_second"],
        validation_metrics["eval_macro_f1"],
        validation_metrics["eval_accuracy"],
    )


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
