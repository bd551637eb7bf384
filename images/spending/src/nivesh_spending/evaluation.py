"""Holdout MAPE of the total-spend forecast and its skill over a seasonal-naive forecast; champion scoring."""

import mlflow
import pandas as pd

from nivesh_common.errors import BadInputError
from nivesh_common.gate_command import Measurement, TrainedRun
from nivesh_common.plots import log_figure
from nivesh_common.safe_models import load_estimator
from nivesh_common.tracking import load_table
from nivesh_spending.forecasting import mape
from nivesh_spending.pyfunc import forecast

HOLDOUT = "evaluation/holdout.parquet"  # ds, y (actual total spend), seasonal_naive
HOLDOUT_MODEL_TAG = "nivesh.holdout_model_uri"
SHOWN_HISTORY_DAYS = 120


def holdout_model_uri(tags: dict[str, str], run_id: str) -> str:
    uri = tags.get(HOLDOUT_MODEL_TAG)
    if not uri:
        raise BadInputError(
            f"--run-id {run_id}: run has no holdout model (tag {HOLDOUT_MODEL_TAG}); was it logged by train?"
        )
    return uri


def forecast_metrics(model, holdout: pd.DataFrame) -> tuple[dict[str, float], pd.DataFrame]:
    """test_mape, seasonal_naive_mape and skill_vs_seasonal_naive (1 - MAPE / naive MAPE) on the holdout."""
    predicted = forecast(model, holdout["ds"])
    model_error = mape(holdout["y"], predicted["yhat"])
    naive_error = mape(holdout["y"], holdout["seasonal_naive"])
    metrics = {
        "test_mape": model_error,
        "seasonal_naive_mape": naive_error,
        "skill_vs_seasonal_naive": 1 - model_error / naive_error if naive_error > 0 else float("nan"),
    }
    return metrics, predicted


def log_forecast_plot(model, holdout: pd.DataFrame, predicted: pd.DataFrame) -> None:
    import matplotlib.pyplot as plt

    history = model.history.tail(SHOWN_HISTORY_DAYS)
    figure, axes = plt.subplots(figsize=(12, 5))
    axes.plot(history["ds"], history["y"], color="grey", linewidth=1, label="history")
    axes.plot(holdout["ds"], holdout["y"], color="black", marker=".", label="actual (holdout)")
    axes.plot(predicted["ds"], predicted["yhat"], color="tab:blue", label="Prophet forecast")
    axes.fill_between(predicted["ds"], predicted["yhat_lower"], predicted["yhat_upper"], color="tab:blue", alpha=0.2)
    axes.plot(holdout["ds"], holdout["seasonal_naive"], color="tab:orange", linestyle="--", label="seasonal naive")
    axes.set_title("Total daily spend: forecast against actuals on the holdout")
    axes.set_ylabel("₹ per day")
    axes.legend()
    figure.autofmt_xdate()
    log_figure(figure, "plots/forecast.png")


def measure_forecast(run: TrainedRun) -> Measurement:
    """Holdout MAPE and skill over seasonal naive of the run's holdout model; the forecast plot logged on the run."""
    model = load_model(holdout_model_uri(run.tags, run.run_id))
    holdout = load_table(run.run_id, HOLDOUT)
    metrics, predicted = forecast_metrics(model, holdout)
    log_forecast_plot(model, holdout, predicted)
    return Measurement(metrics)


def load_model(model_uri: str):
    """The Prophet model inside the served model (or a version's from before, in the prophet flavour)."""
    return load_estimator(model_uri, "model", mlflow.prophet.load_model)


def promotion_score(model_uri: str, model_run_id: str, evaluation_run_id: str) -> float:
    """MAPE of the holdout twin of `model_run_id` on the holdout days of `evaluation_run_id` (a promotion.Scorer).

    The twin, not the served model: the served one was fit on all days, the holdout days of its own run among them.
    """
    tags = mlflow.MlflowClient().get_run(model_run_id).data.tags
    metrics, _ = forecast_metrics(
        load_model(holdout_model_uri(tags, model_run_id)), load_table(evaluation_run_id, HOLDOUT)
    )
    return metrics["test_mape"]
