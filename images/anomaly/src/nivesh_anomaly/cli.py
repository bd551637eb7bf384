"""`nivesh-anomaly`: the anomaly detector's steps (see the README's data contract)."""

import logging
from typing import Annotated

import typer

from nivesh_anomaly import MODEL_NAME
from nivesh_anomaly.gates import (
    DEFAULT_MIN_PRECISION_AT_K,
    DEFAULT_MIN_RECALL,
    PROMOTION_METRIC,
    PROMOTION_TOLERANCE,
)
from nivesh_common.cli import run_app, step, step_app
from nivesh_common.options import DataPath, OutPath, RunId, Seed
from nivesh_common.registry import PromotionPolicy
from nivesh_common.registry_commands import add_registry_commands

log = logging.getLogger("nivesh.anomaly")

app = step_app("Anomaly detector (Isolation Forest): data, training, gates and registry steps.")


@app.command("sample-data")
@step
def sample_data(
    out: OutPath,
    users: Annotated[int, typer.Option(min=1)] = 200,
    days: Annotated[int, typer.Option(min=7)] = 60,
    seed: Seed = 11,
) -> dict:
    """Write synthetic transactions with labelled anomalies (amount spikes, odd hours, new merchants, bursts)."""
    from nivesh_anomaly.sample_data import transactions
    from nivesh_common.data import write_table

    table = transactions(users, days, seed)
    write_table(table, out)
    counts = table.loc[table["is_anomaly"] == 1, "anomaly_type"].value_counts().to_dict()
    log.info("wrote %d transactions to %s; anomalies: %s", len(table), out, counts)
    return {"path": out, "rows": len(table), "anomalies": {str(k): int(v) for k, v in counts.items()}}


@app.command()
@step
def validate(data: DataPath) -> dict:
    """Check the transactions: required columns, parseable timestamps, positive amounts, a 0/1 label."""
    from nivesh_anomaly.schema import LABEL, parse_transactions
    from nivesh_common.data import read_table

    transactions = parse_transactions(read_table(data), data)
    return {
        "path": data,
        "rows": len(transactions),
        "users": int(transactions["user_id"].nunique()),
        "labelled_anomalies": int(transactions[LABEL].sum()),
        "from": str(transactions["timestamp"].min()),
        "to": str(transactions["timestamp"].max()),
    }


@app.command()
@step
def train(
    data: DataPath,
    seed: Seed = 42,
    n_estimators: Annotated[int, typer.Option(min=1)] = 200,
    contamination: Annotated[float, typer.Option(min=0.0001, max=0.5)] = 0.03,
    test_share: Annotated[float, typer.Option(min=0.05, max=0.5)] = 0.2,
) -> dict:
    """Fit on the earlier transactions; log model, signature, data lineage and plots on the latest ones."""
    from nivesh_anomaly.schema import parse_transactions
    from nivesh_anomaly.training import TrainingConfig, train_detector
    from nivesh_common.data import read_table
    from nivesh_common.tracking import training_run

    raw = read_table(data)
    transactions = parse_transactions(raw, data)
    config = TrainingConfig(seed, test_share, n_estimators, contamination)
    with training_run(MODEL_NAME) as run:
        trained = train_detector(raw, transactions, config, data)
    return {"run_id": run.info.run_id, **trained}


@app.command()
@step
def evaluate(
    run_id: RunId,
    min_precision_at_k: Annotated[float, typer.Option(min=0.0, max=1.0)] = DEFAULT_MIN_PRECISION_AT_K,
    min_recall: Annotated[float, typer.Option(min=0.0, max=1.0)] = DEFAULT_MIN_RECALL,
    k: Annotated[
        int | None, typer.Option(min=1, help="Alerts reviewed; default: the number of labelled anomalies.")
    ] = None,
) -> dict:
    """precision@k and recall on the labelled anomalies of the test period, against the gate."""
    import mlflow

    from nivesh_anomaly.evaluation import TEST_SPLIT, detection_metrics, load_model, thresholds
    from nivesh_common.gates import enforce_gate, evaluate_gate, record_gate
    from nivesh_common.settings import load_tracking_settings
    from nivesh_common.tracking import connect, get_run, load_table, model_uri_of

    client = connect(load_tracking_settings())
    run = get_run(client, run_id)
    metrics = detection_metrics(load_model(model_uri_of(run)), load_table(run_id, TEST_SPLIT), k)
    with mlflow.start_run(run_id=run_id):
        mlflow.log_metrics(metrics)
    report = evaluate_gate("evaluate", metrics, thresholds(min_precision_at_k, min_recall))
    record_gate(run_id, report)
    enforce_gate(report)
    return {"run_id": run_id, "metrics": {name: round(value, 6) for name, value in metrics.items()}, "gate": report}


add_registry_commands(
    app,
    MODEL_NAME,
    PromotionPolicy(metric=PROMOTION_METRIC, tolerance=PROMOTION_TOLERANCE, required_gates=("evaluate",)),
    "nivesh_anomaly.evaluation:score_champion",
)


def main() -> None:
    run_app(app, "nivesh-anomaly")
