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


@dataclass(frozen=True)
class TrainingConfig:
    seed: int = 42
    test_share: float = 0.2
    n_estimators: int = 200
    contamination: float = 0.03


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
    model = IsolationForest(
        n_estimators=config.n_estimators, contamination=config.contamination, random_state=config.seed, n_jobs=-1
    )
    watch = Stopwatch()
    model.fit(train_features[FEATURES])
    log.info("fitted %d trees in %.1fs", config.n_estimators, watch.seconds)
    mlflow.log_params(asdict(config) | {"features": ",".join(FEATURES), "profiled_users": len(profiles) - 1})
    mlflow.log_metric("fit_seconds", watch.seconds)
    evaluation = transaction_features(transactions[test], profiles).assign(
        **{LABEL: transactions.loc[test, LABEL].to_numpy()}
    )
    log_table(evaluation, TEST_SPLIT)
    log_evaluation_plots(model, evaluation)
    details = {"train_rows": int(train.sum()), "test_rows": int(test.sum()), "fit_seconds": watch.seconds}
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
