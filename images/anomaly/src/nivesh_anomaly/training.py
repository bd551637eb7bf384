"""Fit the Isolation Forest on the earlier part of the history; keep the latest part for evaluation."""

import logging
from dataclasses import asdict, dataclass

import mlflow
import pandas as pd
from mlflow.models import infer_signature
from sklearn.ensemble import IsolationForest

from nivesh_anomaly.evaluation import TRUSTED_TYPES, log_evaluation_plots
from nivesh_anomaly.features import FEATURES, transaction_features
from nivesh_anomaly.schema import LABEL
from nivesh_common.logs import Stopwatch
from nivesh_common.tracking import log_table
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
    """Fit and log inside the active MLflow run; `split` is the checked time split (train, test masks)."""
    features = transaction_features(transactions)
    train, test = split
    log.info(
        "%d transactions of %d users: train %d, test %d (from %s)",
        len(transactions), transactions["user_id"].nunique(), train.sum(), test.sum(),
        transactions.loc[test, "timestamp"].min(),
    )  # fmt: skip
    model = IsolationForest(
        n_estimators=config.n_estimators, contamination=config.contamination, random_state=config.seed, n_jobs=-1
    )
    watch = Stopwatch()
    model.fit(features[train])
    log.info("fitted %d trees in %.1fs", config.n_estimators, watch.seconds)
    mlflow.log_params(asdict(config) | {"features": ",".join(FEATURES)})
    mlflow.log_metric("fit_seconds", watch.seconds)
    evaluation = features[test].assign(**{LABEL: transactions.loc[test, LABEL].to_numpy()})
    log_table(evaluation, TEST_SPLIT)
    log_evaluation_plots(model, evaluation)
    details = {"train_rows": int(train.sum()), "test_rows": int(test.sum()), "fit_seconds": watch.seconds}
    return LoggedModel(log_detector(model, features[train].head(5)), details)


def log_detector(model: IsolationForest, example: pd.DataFrame) -> str:
    model_info = mlflow.sklearn.log_model(
        model,
        name="model",
        input_example=example,
        signature=infer_signature(example, model.predict(example)),
        serialization_format="skops",
        skops_trusted_types=list(TRUSTED_TYPES),
    )
    return model_info.model_uri
