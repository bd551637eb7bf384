"""`nivesh-spending`: the spending predictor's steps (see the README's data contract)."""

import logging
from typing import Annotated

import typer

from nivesh_common.cli import run_app, step, step_app
from nivesh_common.options import DataPath, OutPath, RunId, Seed
from nivesh_common.registry import PromotionPolicy
from nivesh_common.registry_commands import add_registry_commands
from nivesh_spending import MODEL_NAME
from nivesh_spending.gates import DEFAULT_MAX_MAPE, DEFAULT_MIN_SKILL, PROMOTION_METRIC, PROMOTION_TOLERANCE

log = logging.getLogger("nivesh.spending")

app = step_app("Spending predictor (Prophet): data, training, gates and registry steps.")


@app.command("sample-data")
@step
def sample_data(
    out: OutPath,
    users: Annotated[int, typer.Option(min=1)] = 100,
    days: Annotated[int, typer.Option(min=60)] = 800,
    end: Annotated[str, typer.Option(help="Last day of the data (YYYY-MM-DD).")] = "2026-10-31",
    seed: Seed = 13,
) -> dict:
    """Write synthetic transactions with weekly, salary-cycle, festive-season and holiday rhythms."""
    from nivesh_common.data import write_table
    from nivesh_spending.sample_data import transactions

    table = transactions(users, days, end, seed)
    write_table(table, out)
    log.info("wrote %d transactions over %d days to %s", len(table), days, out)
    return {"path": out, "rows": len(table), "days": days, "categories": int(table["category"].nunique())}


@app.command()
@step
def validate(data: DataPath) -> dict:
    """Check the transactions: dates, amounts ≥ 0, categories; 60+ days of history, no gap over 30 days."""
    from nivesh_common.data import read_table
    from nivesh_spending.forecasting import TOTAL, daily_spend
    from nivesh_spending.schema import parse_transactions

    transactions = parse_transactions(read_table(data), data)
    series = daily_spend(transactions)
    return {
        "path": data,
        "rows": len(transactions),
        "days": len(series),
        "from": str(series.index[0].date()),
        "to": str(series.index[-1].date()),
        "categories": len(series.columns) - 1,
        "mean_daily_spend": round(float(series[TOTAL].mean()), 2),
    }


@app.command()
@step
def train(data: DataPath) -> dict:
    """Fit Prophet on daily spend (total, and per category) with a 30-day holdout twin; log the model."""
    from nivesh_common.data import read_table
    from nivesh_common.tracking import training_run
    from nivesh_spending.schema import parse_transactions
    from nivesh_spending.training import train_predictor

    raw = read_table(data)
    transactions = parse_transactions(raw, data)
    with training_run(MODEL_NAME) as run:
        trained = train_predictor(raw, transactions, data)
    return {"run_id": run.info.run_id, **trained}


@app.command()
@step
def evaluate(
    run_id: RunId,
    max_mape: Annotated[float, typer.Option(min=0.0, help="Highest holdout MAPE accepted.")] = DEFAULT_MAX_MAPE,
    min_skill: Annotated[
        float, typer.Option(max=1.0, help="Lowest skill over seasonal naive (1 - MAPE / naive MAPE).")
    ] = DEFAULT_MIN_SKILL,
) -> dict:
    """Holdout MAPE on the last 30 days and the skill over a seasonal-naive forecast; logs a forecast plot."""
    import mlflow

    from nivesh_common.gates import enforce_gate, evaluate_gate, record_gate
    from nivesh_common.settings import load_tracking_settings
    from nivesh_common.tracking import connect, get_run, load_table
    from nivesh_spending.evaluation import (
        HOLDOUT,
        forecast_metrics,
        holdout_model_uri,
        load_model,
        log_forecast_plot,
        thresholds,
    )

    client = connect(load_tracking_settings())
    run = get_run(client, run_id)
    model = load_model(holdout_model_uri(run.data.tags, run_id))
    holdout = load_table(run_id, HOLDOUT)
    metrics, predicted = forecast_metrics(model, holdout)
    with mlflow.start_run(run_id=run_id):
        mlflow.log_metrics(metrics)
        log_forecast_plot(model, holdout, predicted)
    gate = evaluate_gate("evaluate", metrics, thresholds(max_mape, min_skill))
    record_gate(run_id, gate)
    enforce_gate(gate)
    return {"run_id": run_id, "metrics": {name: round(value, 6) for name, value in metrics.items()}, "gate": gate}


add_registry_commands(
    app,
    MODEL_NAME,
    PromotionPolicy(
        metric=PROMOTION_METRIC,
        tolerance=PROMOTION_TOLERANCE,
        required_gates=("evaluate",),
        higher_is_better=False,
    ),
    "nivesh_spending.evaluation:score_champion",
)


def main() -> None:
    run_app(app, "nivesh-spending")
