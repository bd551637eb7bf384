"""Fit the Isolation Forest on the earlier part of the history; keep the latest part for evaluation."""

import json
import logging
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import mlflow
import pandas as pd
from sklearn.ensemble import IsolationForest

from nivesh_anomaly import pyfunc
from nivesh_anomaly.evaluation import log_evaluation_plots
from nivesh_anomaly.features import AMOUNT, FEATURES, MERCHANT, TIME, USER, learn_profiles, transaction_features
from nivesh_anomaly.schema import LABEL
from nivesh_common.logs import Stopwatch
from nivesh_common.tracking import log_python_model, log_table, pinned_requirements
from nivesh_common.training import LoggedModel
from nivesh_contract.names import TEST_SPLIT

log = logging.getLogger(__name__)
MIN_CONTAMINATION, MAX_CONTAMINATION = 0.0001, 0.5  # what IsolationForest accepts


@dataclass(frozen=True)
class TrainingConfig:
    seed: int = 42
    test_share: float = 0.2
    n_estimators: int = 200
    contamination: float | None = None  # share flagged; None: the labelled share of the training period


def chosen_contamination(labels: pd.Series, configured: float | None) -> tuple[float | str, str]:
    """The share of transactions to flag, and where it came from: the flag, or the training period's labels
    (clipped to what an Isolation Forest takes); with no labelled anomaly there, scikit-learn's "auto"."""
    if configured is not None:
        return configured, "flag"
    share = float(labels.mean())
    if share == 0:
        log.warning("no labelled anomaly in the training period: contamination 'auto' (scikit-learn's offset)")
        return "auto", "auto: no labelled anomaly in the training period"
    return min(max(share, MIN_CONTAMINATION), MAX_CONTAMINATION), "labelled share of the training period"


def train_detector(
    transactions: pd.DataFrame, split: tuple[pd.Series, pd.Series], config: TrainingConfig
) -> LoggedModel:
    """Fit and log inside the active MLflow run; `split` is the checked time split (train, test masks).

    Profiles come from the training period only: the test period is scored as new transactions would be.
    """
    train, test = split
    log.info(
        "%d transactions of %d users: train %d, test %d (from %s)",
        len(transactions), transactions["user_id"].nunique(), train.sum(), test.sum(),
        transactions.loc[test, "timestamp"].min(),
    )  # fmt: skip
    profiles = learn_profiles(transactions[train])
    train_features = transaction_features(transactions[train], profiles)
    contamination, source = chosen_contamination(transactions.loc[train, LABEL], config.contamination)
    model = IsolationForest(
        n_estimators=config.n_estimators, contamination=contamination, random_state=config.seed, n_jobs=-1
    )
    watch = Stopwatch()
    model.fit(train_features[FEATURES])
    log.info(
        "fitted %d trees in %.1fs; contamination %s (%s)", config.n_estimators, watch.seconds, contamination, source
    )
    mlflow.log_params(
        asdict(config)
        | {"contamination": contamination, "contamination_source": source}
        | {"features": ",".join(FEATURES), "profiled_users": len(profiles) - 1}
    )
    mlflow.log_metric("fit_seconds", watch.seconds)
    evaluation = transaction_features(transactions[test], profiles).assign(
        **{LABEL: transactions.loc[test, LABEL].to_numpy()}
    )
    log_table(evaluation, TEST_SPLIT)
    log_evaluation_plots(model, evaluation)
    details = {
        "train_rows": int(train.sum()),
        "test_rows": int(test.sum()),
        "fit_seconds": watch.seconds,
        "contamination": contamination,
    }
    return LoggedModel(log_detector(model, profiles, transactions[train].head(5)), details)


def log_detector(model: IsolationForest, profiles: dict, rows: pd.DataFrame) -> str:
    """The served model: raw transactions in (`rows` as its input example), score and flag out."""
    import skops.io

    example = rows[[USER, TIME, AMOUNT, MERCHANT]].assign(
        **{USER: rows[USER].astype(str), TIME: rows[TIME].map(pd.Timestamp.isoformat)}
    )
    output = pyfunc.detect(model, transaction_features(rows, profiles))
    with tempfile.TemporaryDirectory() as work:
        skops.io.dump(model, f"{work}/forest.skops")
        Path(work, "profiles.json").write_text(json.dumps(profiles))
        artifacts = {"forest": f"{work}/forest.skops", "profiles": f"{work}/profiles.json"}
        requirements = pinned_requirements("scikit-learn", "skops", "pandas")
        return log_python_model(pyfunc.__file__, artifacts, example, output, requirements)
