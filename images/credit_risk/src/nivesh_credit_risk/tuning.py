"""Hyperparameter search for the scorer with Optuna (TPE, seeded), on the training and validation splits
only, for a number of trials. The first trial is the untuned defaults, so the search never ends worse than them
on validation. Same data and seed, same trials, same model, however busy the machine: the seconds are only a
safety cap, and a search the cap cuts short fails (its result would depend on the machine's speed)."""

import logging
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from nivesh_common.errors import PassingConditionError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Hyperparameters:
    n_estimators: int = 400  # the most trees; early stopping on validation ROC AUC picks how many
    learning_rate: float = 0.08
    max_depth: int = 5
    min_child_weight: float = 1.0
    subsample: float = 1.0
    colsample_bytree: float = 1.0
    reg_lambda: float = 1.0


@dataclass(frozen=True)
class TuningBudget:
    trials: int
    seconds: float


@dataclass(frozen=True)
class Tuned:
    best: Hyperparameters
    best_validation_auc: float
    history: pd.DataFrame  # one row per trial: number, validation ROC AUC, seconds, the parameters tried


def _suggest(trial, base: Hyperparameters) -> Hyperparameters:
    return Hyperparameters(
        n_estimators=base.n_estimators,
        learning_rate=trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
        max_depth=trial.suggest_int("max_depth", 2, 8),
        min_child_weight=trial.suggest_float("min_child_weight", 0.5, 20.0, log=True),
        subsample=trial.suggest_float("subsample", 0.5, 1.0),
        colsample_bytree=trial.suggest_float("colsample_bytree", 0.4, 1.0),
        reg_lambda=trial.suggest_float("reg_lambda", 0.01, 20.0, log=True),
    )


def search(
    validation_auc: Callable[[Hyperparameters], float],
    base: Hyperparameters,
    budget: TuningBudget,
    seed: int,
    after_trial: Callable[[int, float], None],
) -> Tuned:
    """The hyperparameters with the best `validation_auc` (a fit on train, scored on validation); `after_trial` gets
    each trial's number and score as it ends (and may stop the search by raising)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    searched = ("learning_rate", "max_depth", "min_child_weight", "subsample", "colsample_bytree", "reg_lambda")
    study.enqueue_trial({name: getattr(base, name) for name in searched})
    study.optimize(
        lambda trial: validation_auc(_suggest(trial, base)),
        n_trials=budget.trials,
        timeout=budget.seconds,
        callbacks=[lambda _, trial: after_trial(trial.number, trial.value)],
    )
    if len(study.trials) < budget.trials:
        raise PassingConditionError(
            f"tuning stopped at its {budget.seconds:g} s safety cap after {len(study.trials)} of {budget.trials} "
            "trials: a search cut by time depends on how busy the machine is, so this model could not be "
            "reproduced, and the run ends failed (raise --tune-seconds, or lower --tune-trials)"
        )
    history = pd.DataFrame(
        {
            "trial": trial.number,
            "validation_roc_auc": trial.value,
            "seconds": trial.duration.total_seconds(),
            **trial.params,
        }
        for trial in study.trials
    )
    best = Hyperparameters(n_estimators=base.n_estimators, **study.best_params)
    log.info(
        "tuning: %d trial(s) in %.1fs, best validation ROC AUC %.4f (defaults %.4f)",
        len(history), history["seconds"].sum(), study.best_value, history["validation_roc_auc"].iloc[0],
    )  # fmt: skip
    return Tuned(best, float(study.best_value), history)
