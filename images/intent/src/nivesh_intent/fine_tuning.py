"""Fine-tune the encoder with the Hugging Face Trainer; early stopping on validation macro F1.

Imports nothing of MLflow: `training` logs what this module returns, and the GPU benchmark
(`nivesh_platform.gpu_bench`) runs it on a machine that has only torch and transformers.
"""

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split

from nivesh_intent.base_model import BaseModel
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
    mixed_precision: bool = True  # bf16 on a GPU that supports it; False: fp32 everywhere

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


def encoded(tokenizer, table: pd.DataFrame, label2id: dict[str, int], max_length: int) -> list[dict]:
    """Unpadded examples: the collator pads each batch to its own longest one (dynamic padding)."""
    encodings = tokenizer(table[TEXT].tolist(), truncation=True, max_length=max_length)
    return [
        {"input_ids": ids, "attention_mask": mask, "labels": label2id[label]}
        for ids, mask, label in zip(encodings["input_ids"], encodings["attention_mask"], table[LABEL], strict=True)
    ]


def classification_scores(prediction) -> dict[str, float]:
    predicted = np.argmax(prediction.predictions, axis=-1)
    return {
        "accuracy": accuracy_score(prediction.label_ids, predicted),
        "macro_f1": f1_score(prediction.label_ids, predicted, average="macro"),
    }


def progress_callback():
    from transformers import TrainerCallback

    class ProgressLog(TrainerCallback):
        """Readable progress lines on stderr (what `kubectl logs` shows) instead of progress bars."""

        def on_log(self, args, state, control, logs=None, **kwargs):
            numbers = {key: value for key, value in (logs or {}).items() if isinstance(value, float | int)}
            shown = {key: float(f"{value:.4g}") for key, value in numbers.items()}
            log.info("epoch %.2f step %d/%d %s", state.epoch or 0, state.global_step, state.max_steps, shown)

    return ProgressLog()


def training_arguments(config: TrainingConfig, base: BaseModel, work: Path):
    """The Trainer's settings: on the GPU when there is one, bf16 where it supports it (and mixed precision is on),
    an evaluation and a checkpoint each epoch, the best epoch's weights kept."""
    import torch
    from transformers import TrainingArguments

    on_gpu = torch.cuda.is_available()
    bf16 = config.mixed_precision and on_gpu and torch.cuda.is_bf16_supported()
    log.info("device %s%s", "cuda" if on_gpu else "cpu", ", bf16" if bf16 else "")
    return TrainingArguments(
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


def fine_tune(
    base: BaseModel,
    train: list[dict],
    validation: list[dict],
    config: TrainingConfig,
    work: Path,
    extra_callbacks: tuple = (),
) -> FineTuned:
    """Fine-tune on `encoded` examples with early stopping; saves the best epoch's model."""
    from transformers import DataCollatorWithPadding, EarlyStoppingCallback, Trainer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # progress goes to the log as lines (ProgressLog)
    trainer = Trainer(
        model=base.model,
        args=training_arguments(config, base, work),
        train_dataset=train,
        eval_dataset=validation,
        processing_class=base.tokenizer,
        data_collator=DataCollatorWithPadding(base.tokenizer),
        compute_metrics=classification_scores,
        callbacks=[
            EarlyStoppingCallback(early_stopping_patience=config.patience),
            progress_callback(),
            *extra_callbacks,
        ],
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
