"""`nivesh-anomaly`: the anomaly detector's steps (see the README's data contract)."""

from typing import Annotated

import typer

from nivesh_common.cli import step
from nivesh_common.gate_command import Measurement, TrainedRun, gate_command
from nivesh_common.model_cli import Sample, declared_options, model_app, sample_data_command
from nivesh_common.options import DataPath, Seed
from nivesh_contract.catalog import model_named
from nivesh_contract.results import Trained

MODEL = model_named("anomaly_detector")
app, main = model_app(MODEL, "Anomaly detector (Isolation Forest)", "nivesh_anomaly.evaluation:promotion_score")


@sample_data_command(app)
def sample_data(
    users: Annotated[int, typer.Option(min=1)] = 200,
    days: Annotated[int, typer.Option(min=7)] = 60,
    seed: Seed = 11,
) -> Sample:
    """Write synthetic transactions with labelled anomalies (amount spikes, odd hours, new merchants, bursts)."""
    from nivesh_anomaly.sample_data import transactions

    table = transactions(users, days, seed)
    counts = table.loc[table["is_anomaly"] == 1, "anomaly_type"].value_counts()
    return Sample(table, {"anomalies": {str(kind): int(count) for kind, count in counts.items()}})


TestShare = Annotated[float, typer.Option(min=0.05, max=0.5, help="The latest share of the history kept to test on.")]


def _checked_transactions(data: str, test_share: float, date_order: str):
    """The table as read, its typed transactions and their time split: what `validate` and `train` check."""
    from nivesh_anomaly.schema import parse_transactions, time_split
    from nivesh_common.data import read_table

    raw = read_table(data)
    transactions = parse_transactions(raw, data, date_order)
    return raw, transactions, time_split(transactions, test_share, data)


@app.command()
@step
@declared_options(MODEL, "validate")
def validate(data: DataPath, test_share: TestShare = 0.2, **contract: str) -> dict:
    """Check the transactions: required columns, timestamps, positive amounts, a 0/1 label, anomalies to test on."""
    from nivesh_anomaly.schema import LABEL

    _, transactions, (_, test) = _checked_transactions(data, test_share, contract["date_order"])
    return {
        "path": data,
        "rows": len(transactions),
        "users": int(transactions["user_id"].nunique()),
        "labelled_anomalies": int(transactions[LABEL].sum()),
        "test_anomalies": int(transactions.loc[test, LABEL].sum()),
        "from": str(transactions["timestamp"].min()),
        "to": str(transactions["timestamp"].max()),
    }


@app.command()
@step
@declared_options(MODEL, "train")
def train(
    data: DataPath,
    seed: Seed = 42,
    n_estimators: Annotated[int, typer.Option(min=1)] = 200,
    contamination: Annotated[
        float | None,
        typer.Option(min=0.0001, max=0.5, help="Share flagged; default: the training period's labelled share."),
    ] = None,
    test_share: TestShare = 0.2,
    **contract: str,
) -> Trained:
    """Fit on the earlier transactions; log model, signature, data lineage and plots on the latest ones."""
    from nivesh_anomaly.schema import LABEL
    from nivesh_anomaly.training import TrainingConfig, train_detector
    from nivesh_common.training import TrainingData, run_training

    raw, transactions, split = _checked_transactions(data, test_share, contract["date_order"])
    config = TrainingConfig(seed, test_share, n_estimators, contamination)
    return run_training(MODEL, TrainingData(raw, data, LABEL), lambda: train_detector(transactions, split, config))


@gate_command(app, MODEL)
def evaluate(
    run: TrainedRun,
    k: Annotated[
        int | None, typer.Option(min=1, help="Alerts reviewed; default: the number of labelled anomalies.")
    ] = None,
) -> Measurement:
    """precision@k and recall on the labelled anomalies of the test period, against the gate."""
    from nivesh_anomaly.evaluation import measure_detection

    return measure_detection(run, k)
