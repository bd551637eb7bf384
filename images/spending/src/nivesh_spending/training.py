"""Fit the forecasters: a holdout model (judged by `evaluate`) and the served model on all history."""

import logging
import tempfile
import time
from pathlib import Path

import mlflow
import pandas as pd

from nivesh_common.tracking import artifact_name, log_python_model, log_table, pinned_requirements
from nivesh_common.training import LoggedModel
from nivesh_spending import pyfunc
from nivesh_spending.evaluation import HOLDOUT, HOLDOUT_MODEL_TAG
from nivesh_spending.forecasting import TOTAL, daily_spend, fit, mape, seasonal_naive
from nivesh_spending.pyfunc import forecast
from nivesh_spending.schema import HORIZON_DAYS

log = logging.getLogger(__name__)


def train_predictor(transactions: pd.DataFrame) -> LoggedModel:
    """Train and log inside the active MLflow run.

    The registered model forecasts total daily spend and is fit on all history. A twin fit without the
    last HORIZON_DAYS is what the gates judge. Each category gets the same pair: its holdout MAPE is
    logged, its full-history model is kept beside the registered one (`category_models/`).
    """
    started = time.perf_counter()
    series = daily_spend(transactions)
    history, holdout = series.iloc[:-HORIZON_DAYS], series.iloc[-HORIZON_DAYS:]
    log.info(
        "%d transactions, %d days (%s to %s), %d categories; holdout: the last %d days",
        len(transactions), len(series), series.index[0].date(), series.index[-1].date(),
        len(series.columns) - 1, HORIZON_DAYS,
    )  # fmt: skip
    holdout_model = fit(history[TOTAL])
    model = fit(series[TOTAL])
    category_mape = _category_models(series, history, holdout)
    seconds = time.perf_counter() - started
    log.info("fitted %d Prophet models in %.1f s", 2 * len(series.columns), seconds)

    mlflow.log_params({"horizon_days": HORIZON_DAYS, "series": "total daily spend", "categories": len(category_mape)})
    mlflow.log_metrics(
        {"train_seconds": seconds, "history_days": len(series)}
        | {f"holdout_mape_{artifact_name(category)}": value for category, value in category_mape.items()}
    )
    naive = seasonal_naive(history[TOTAL], len(holdout))
    holdout_table = pd.DataFrame({"ds": holdout.index, "y": holdout[TOTAL].to_numpy(), "seasonal_naive": naive})
    log_table(holdout_table, HOLDOUT)
    mlflow.set_tag(HOLDOUT_MODEL_TAG, _log_prophet(holdout_model, "holdout_model", holdout.index))
    future = pd.date_range(series.index[-1] + pd.Timedelta(days=1), periods=HORIZON_DAYS, freq="D")
    model_uri = _log_prophet(model, "model", future)
    by_category = {category: round(value, 4) for category, value in category_mape.items()}
    return LoggedModel(model_uri, {"days": len(series), "holdout_mape_by_category": by_category})


def _category_models(series: pd.DataFrame, history: pd.DataFrame, holdout: pd.DataFrame) -> dict[str, float]:
    """Holdout MAPE per category; each category's full-history model logged as Prophet JSON."""
    from prophet.serialize import model_to_json

    scores = {}
    with tempfile.TemporaryDirectory() as work:
        for category in (column for column in series.columns if column != TOTAL):
            predicted = forecast(fit(history[category]), holdout.index.to_series())
            scores[category] = mape(holdout[category], predicted["yhat"])
            (Path(work) / f"{artifact_name(category)}.json").write_text(model_to_json(fit(series[category])))
        mlflow.log_artifacts(work, "category_models")
    return scores


def _log_prophet(model, name: str, example_days: pd.DatetimeIndex) -> str:
    """A fitted Prophet model as a served model (Prophet's JSON inside a models-from-code pyfunc); its URI."""
    from prophet.serialize import model_to_json

    example = pd.DataFrame({pyfunc.DAY: example_days[:5]})
    with tempfile.TemporaryDirectory() as work:
        saved = Path(work) / "prophet.json"
        saved.write_text(model_to_json(model))
        requirements = pinned_requirements("prophet", "pandas")
        return log_python_model(
            pyfunc.__file__, {"prophet": str(saved)}, example, forecast(model, example[pyfunc.DAY]), requirements, name
        )
