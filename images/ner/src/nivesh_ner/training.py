"""Train spaCy's entity recognizer from a blank English pipeline or a given base pipeline."""

import logging
import random
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import mlflow
import pandas as pd

from nivesh_common.errors import BadInputError
from nivesh_common.tracking import log_python_model, log_table, pinned_requirements
from nivesh_common.training import LoggedModel
from nivesh_contract.names import TEST_SPLIT
from nivesh_ner import pyfunc
from nivesh_ner.evaluation import entity_scores, to_examples
from nivesh_ner.schema import LABELS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingConfig:
    base_pipeline: str | None = None  # None: spacy.blank("en")
    epochs: int = 30
    dropout: float = 0.2
    patience: int = 3  # epochs without better validation entity F1
    seed: int = 42


@dataclass(frozen=True)
class BasePipeline:
    nlp: object  # spacy.Language
    source: str  # "blank:en", or the package name or directory it was loaded from
    pretrained_ner: bool  # its `ner` is fine-tuned; otherwise a new one is initialised


@dataclass(frozen=True)
class EpochsOutcome:
    """The epochs' outcome: the best epoch's validation F1, which epoch, how many ran, how fast."""

    best_f1: float
    best_epoch: int
    epochs_run: int
    seconds: float
    examples_per_second: float


def base_pipeline(name_or_dir: str | None) -> BasePipeline:
    """The pipeline to train: a blank English one, or a given one (its `ner`, or a new one, is trained)."""
    import spacy

    if name_or_dir is None:
        nlp, source = spacy.blank("en"), "blank:en"
    else:
        try:
            nlp, source = spacy.load(name_or_dir), name_or_dir
        except OSError:
            raise BadInputError(
                f"--base-pipeline {name_or_dir}: not an installed spaCy pipeline package or pipeline directory"
            ) from None
    pretrained_ner = "ner" in nlp.pipe_names
    ner = nlp.get_pipe("ner") if pretrained_ner else nlp.add_pipe("ner", last=True)
    for label in LABELS:
        ner.add_label(label)
    return BasePipeline(nlp, source, pretrained_ner)


def split(examples: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Shuffled 80/10/10 train/validation/test split."""
    shuffled = examples.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    first, second = int(len(shuffled) * 0.8), int(len(shuffled) * 0.9)
    return shuffled[:first], shuffled[first:second], shuffled[second:]


def train_recognizer(base: BasePipeline, examples: pd.DataFrame, config: TrainingConfig) -> LoggedModel:
    """Train and log inside the active MLflow run; keeps the epoch with the best validation entity F1."""
    from spacy.util import fix_random_seed

    fix_random_seed(config.seed)  # python's random (the shuffle in each epoch), numpy and thinc
    train, validation, test = split(examples, config.seed)
    log.info(
        "%d messages: train %d, validation %d, test %d; base %s; labels %s",
        len(examples), len(train), len(validation), len(test), base.source, ", ".join(LABELS),
    )  # fmt: skip
    trained = train_epochs(base, to_examples(base.nlp, train), validation, config)
    mlflow.log_params({**asdict(config), "base_pipeline": base.source, "labels": len(LABELS)})
    mlflow.set_tag("nivesh.base_pipeline", base.source)
    mlflow.log_metrics(
        {
            "validation_entity_f1": trained.best_f1,
            "best_epoch": trained.best_epoch,
            "epochs_run": trained.epochs_run,
            "train_seconds": trained.seconds,
            "train_examples_per_second": trained.examples_per_second,
        }
    )
    log_table(test, TEST_SPLIT)
    details = {"base_pipeline": base.source, "best_epoch": trained.best_epoch}
    return LoggedModel(_log_pipeline(base.nlp), details | {"validation_entity_f1": round(trained.best_f1, 4)})


def train_epochs(
    base: BasePipeline, train_examples: list, validation: pd.DataFrame, config: TrainingConfig
) -> EpochsOutcome:
    """Minibatches growing from 4 to 32; early stopping on validation F1; leaves the best epoch's `ner` in place."""
    from spacy.util import compounding, minibatch

    nlp = base.nlp
    with nlp.select_pipes(enable="ner"):
        optimizer = nlp.resume_training() if base.pretrained_ner else nlp.initialize(lambda: train_examples)
        best_f1, best_state, best_epoch, started = -1.0, None, 0, time.perf_counter()
        for epoch in range(1, config.epochs + 1):
            random.shuffle(train_examples)
            losses: dict[str, float] = {}
            epoch_started = time.perf_counter()
            for batch in minibatch(train_examples, size=compounding(4.0, 32.0, 1.001)):
                nlp.update(batch, drop=config.dropout, sgd=optimizer, losses=losses)
            rate = len(train_examples) / (time.perf_counter() - epoch_started)
            f1 = entity_scores(nlp, validation)[0]["test_entity_f1"]
            log.info(
                "epoch %d/%d loss %.2f validation entity F1 %.4f (%.0f examples/s)",
                epoch, config.epochs, losses.get("ner", 0.0), f1, rate,
            )  # fmt: skip
            if f1 > best_f1:
                best_f1, best_state, best_epoch = f1, nlp.get_pipe("ner").to_bytes(), epoch
            elif epoch - best_epoch >= config.patience:
                log.info("no better validation F1 for %d epochs: stopping at epoch %d", config.patience, epoch)
                break
        seconds = time.perf_counter() - started
    nlp.get_pipe("ner").from_bytes(best_state)
    return EpochsOutcome(best_f1, best_epoch, epoch, seconds, len(train_examples) * epoch / seconds)


def _log_pipeline(nlp) -> str:
    """The pipeline as the served model: spaCy's directory format inside a models-from-code pyfunc."""
    example = pd.DataFrame({pyfunc.TEXT: ["Rs 499 debited from A/c XX4521 at Swiggy yesterday"]})
    output = pd.DataFrame({pyfunc.ENTITIES: pyfunc.entities_of(nlp, example[pyfunc.TEXT].tolist())})
    with tempfile.TemporaryDirectory() as work:
        nlp.to_disk(Path(work) / "pipeline")
        requirements = pinned_requirements("spacy", "pandas")
        return log_python_model(pyfunc.__file__, {"pipeline": f"{work}/pipeline"}, example, output, requirements)
