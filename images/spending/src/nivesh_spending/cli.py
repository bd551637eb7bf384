"""`nivesh-spending`: the spending predictor's steps (see the README's data contract)."""

from typing import Annotated

import typer

from nivesh_common.cli import step
from nivesh_common.gate_command import Measurement, TrainedRun, gate_command
from nivesh_common.model_cli import Sample, declared_options, model_app, sample_data_command
from nivesh_common.options import DataPath, Seed
from nivesh_contract.catalog import model_named
from nivesh_contract.results import Trained

MODEL = model_named("spending_predictor")
app, main = model_app(MODEL, "Spending predictor (Prophet)", "nivesh_spending.evaluation:promotion_score")


@sample_data_command(app)
def sample_data(
    users: Annotated[int, typer.Option(min=1)] = 100,
    days: Annotated[int, typer.Option(min=60)] = 800,
    end: Annotated[str, typer.Option(help="Last day of the data (YYYY-MM-DD).")] = "2026-10-31",
    seed: Seed = 13,
) -> Sample:
    """Write synthetic transactions with weekly, salary-cycle, festive-season and holiday rhythms."""
    from nivesh_spending.sample_data import transactions

    table = transactions(users, days, end, seed)
    return Sample(table, {"days": days, "categories": int(table["category"].nunique())})


@app.command()
@step
@declared_options(MODEL, "validate")
def validate(data: DataPath, **contract: str) -> dict:
    """Check the transactions: dates, amounts ≥ 0, categories; 60+ days of history, no gap over 30 days."""
    from nivesh_common.data import read_table
    from nivesh_spending.forecasting import TOTAL, daily_spend
    from nivesh_spending.schema import parse_transactions

    transactions = parse_transactions(read_table(data), data, contract["date_order"])
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
@declared_options(MODEL, "train")
def train(data: DataPath, **contract: str) -> Trained:
    """Fit Prophet on daily spend (total, and per category) with a 30-day holdout twin; log the model."""
    from nivesh_common.data import read_table
    from nivesh_common.training import TrainingData, run_training
    from nivesh_spending.schema import parse_transactions
    from nivesh_spending.training import train_predictor

    raw = read_table(data)
    transactions = parse_transactions(raw, data, contract["date_order"])
    return run_training(MODEL, TrainingData(raw, data, None), lambda: train_predictor(transactions))


@gate_command(app, MODEL)
def evaluate(run: TrainedRun) -> Measurement:
    """Holdout MAPE on the last 30 days and the skill over a seasonal-naive forecast; logs a forecast plot."""
    from nivesh_spending.evaluation import measure_forecast

    return measure_forecast(run)
