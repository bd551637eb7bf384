"""`make bench-gpu`: intent fine-tuning throughput, the project's bf16 Trainer against fp32 ones.

A DistilBERT of distilbert-base-uncased's shape (6 layers, 768 wide; random weights: the hub is not reachable
from the build or GPU machines) fine-tuned on the synthetic intents. For each configuration: train samples/s
over the training steps alone (epoch start to end, the GPU synchronised), the Trainer's own samples/s
(evaluation and checkpoints included, what a run logs), peak GPU memory and validation macro F1.
Imports only torch, transformers and the intent package's MLflow-free modules, so it runs on a GPU node or
machine that has no MLflow. Prints figures; asserts nothing.
"""

import argparse
import json
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from tabulate import tabulate

from nivesh_intent.base_model import BaseModel, small_distilbert
from nivesh_intent.fine_tuning import TrainingConfig, classification_scores, encoded, fine_tune, split
from nivesh_intent.sample_data import intent_examples
from nivesh_intent.schema import LABEL, TEXT

MAX_LENGTH = 128  # as the served model truncates (nivesh_intent.pyfunc.MAX_LENGTH, which imports MLflow)
SHAPES = {  # DistilBertConfig fields
    "base": {"dim": 768, "hidden_dim": 3072, "n_layers": 6, "n_heads": 12},  # distilbert-base-uncased
    "tiny": {"dim": 32, "hidden_dim": 64, "n_layers": 1, "n_heads": 2},  # a quick check on a CPU
}


@dataclass(frozen=True)
class Measured:
    configuration: str
    batch_size: int
    step_samples_per_second: float
    trainer_samples_per_second: float
    peak_gpu_gib: float | None
    validation_macro_f1: float


def _epoch_timer():
    """Seconds spent between each epoch's start and end (the training steps, not evaluation or checkpoints)."""
    import torch
    from transformers import TrainerCallback

    def synchronise():
        if torch.cuda.is_available():
            torch.cuda.synchronize()

    class EpochTimer(TrainerCallback):
        def __init__(self):
            self.seconds, self.epochs, self._started = 0.0, 0, 0.0

        def on_epoch_begin(self, args, state, control, **kwargs):
            synchronise()
            self._started = time.perf_counter()

        def on_epoch_end(self, args, state, control, **kwargs):
            synchronise()
            self.seconds += time.perf_counter() - self._started
            self.epochs += 1

    return EpochTimer()


def _model(texts: list[str], labels: list[str], shape: str, seed: int) -> BaseModel:
    """The tokenizer `make run` trains offline, and a DistilBERT of the chosen shape with seeded random weights."""
    import torch
    from transformers import DistilBertConfig, DistilBertForSequenceClassification

    label_kwargs = {"num_labels": len(labels), "id2label": dict(enumerate(labels))}
    label_kwargs["label2id"] = {label: i for i, label in enumerate(labels)}
    tokenizer = small_distilbert(texts, label_kwargs).tokenizer
    torch.manual_seed(seed)
    config = DistilBertConfig(
        vocab_size=len(tokenizer), max_position_embeddings=512, pad_token_id=tokenizer.pad_token_id,
        **SHAPES[shape], **label_kwargs,
    )  # fmt: skip
    return BaseModel(tokenizer, DistilBertForSequenceClassification(config), "config")


def _plain_fine_tune(base: BaseModel, train, validation, config: TrainingConfig, work: Path, timer):
    """A plain fp32 Trainer: every example padded to MAX_LENGTH, shuffled batches, no length grouping."""
    from transformers import Trainer, TrainingArguments, default_data_collator

    arguments = TrainingArguments(
        output_dir=str(work / "plain"),
        num_train_epochs=config.epochs,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=64,
        learning_rate=config.learning_rate,
        eval_strategy="epoch",
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        seed=config.seed,
    )
    trainer = Trainer(
        model=base.model,
        args=arguments,
        train_dataset=train,
        eval_dataset=validation,
        data_collator=default_data_collator,
        compute_metrics=classification_scores,
        callbacks=[timer],
    )
    outcome = trainer.train()
    return outcome.metrics["train_samples_per_second"], trainer.evaluate()["eval_macro_f1"]


def _padded(tokenizer, table, label2id: dict[str, int]) -> list[dict]:
    encodings = tokenizer(table[TEXT].tolist(), truncation=True, max_length=MAX_LENGTH, padding="max_length")
    return [
        {"input_ids": ids, "attention_mask": mask, "labels": label2id[label]}
        for ids, mask, label in zip(encodings["input_ids"], encodings["attention_mask"], table[LABEL], strict=True)
    ]


def measure(configuration: str, config: TrainingConfig, shape: str, per_intent: int) -> Measured:
    """One configuration on a fresh model with the same seeded weights: `project` (bf16 where the GPU has it),
    `project-fp32`, or `plain-fp32`."""
    import torch

    examples = intent_examples(per_intent=per_intent, seed=config.seed)
    labels = sorted(examples[LABEL].unique())
    train, validation, _ = split(examples, config.seed)
    base = _model(train[TEXT].tolist(), labels, shape, config.seed)
    label2id = base.model.config.label2id
    timer = _epoch_timer()
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    with tempfile.TemporaryDirectory() as work:
        if configuration == "plain-fp32":
            padded = [_padded(base.tokenizer, table, label2id) for table in (train, validation)]
            trainer_rate, f1 = _plain_fine_tune(base, *padded, config, Path(work), timer)
        else:
            unpadded = [encoded(base.tokenizer, table, label2id, MAX_LENGTH) for table in (train, validation)]
            chosen = replace(config, mixed_precision=configuration == "project")
            tuned = fine_tune(base, *unpadded, chosen, Path(work), extra_callbacks=(timer,))
            trainer_rate, f1 = tuned.samples_per_second, tuned.validation_macro_f1
    peak = torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else None
    step_rate = len(train) * timer.epochs / timer.seconds
    return Measured(configuration, config.batch_size, step_rate, trainer_rate, peak, f1)


def _device() -> str:
    import torch
    import transformers

    name = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU"
    bf16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return f"{name} (bf16 {'supported' if bf16 else 'not supported'}), torch {torch.__version__}, " + (
        f"transformers {transformers.__version__}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", choices=sorted(SHAPES), default="base")
    parser.add_argument("--per-intent", type=int, default=800, help="examples per intent (24 intents; 80%% train)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 256])
    parser.add_argument("--configurations", nargs="+", default=["project", "project-fp32", "plain-fp32"])
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    print(f"Intent fine-tuning on {_device()}; DistilBERT shape {args.shape}, {args.epochs} epochs", flush=True)
    base_config = TrainingConfig(epochs=args.epochs, learning_rate=args.learning_rate, patience=args.epochs)
    rows = [
        measure(configuration, replace(base_config, batch_size=batch_size), args.shape, args.per_intent)
        for batch_size in args.batch_sizes
        for configuration in args.configurations
    ]
    headers = ["configuration", "batch", "train samples/s (steps)", "Trainer samples/s", "peak GPU GiB", "val F1"]
    table = [
        [row.configuration, row.batch_size, round(row.step_samples_per_second), round(row.trainer_samples_per_second),
         None if row.peak_gpu_gib is None else round(row.peak_gpu_gib, 2), round(row.validation_macro_f1, 3)]
        for row in rows
    ]  # fmt: skip
    print(tabulate(table, headers=headers))
    if args.json:
        args.json.write_text(json.dumps({"device": _device(), "rows": [row.__dict__ for row in rows]}, indent=1))


if __name__ == "__main__":
    main()
