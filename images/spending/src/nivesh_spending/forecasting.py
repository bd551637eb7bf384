"""Daily spend series, the Prophet model, and the error measures the gates use."""

import logging
import warnings

import numpy as np
import pandas as pd

from nivesh_spending.schema import AMOUNT, CATEGORY, DATE, TOTAL

WEEK = 7


def daily_spend(transactions: pd.DataFrame) -> pd.DataFrame:
    """One row per calendar day (days without transactions spend 0): `total` and one column per category."""
    per_category = transactions.pivot_table(index=DATE, columns=CATEGORY, values=AMOUNT, aggfunc="sum")
    days = pd.date_range(per_category.index.min(), per_category.index.max(), freq="D", name="ds")
    per_category = per_category.reindex(days, fill_value=0.0).fillna(0.0)
    return per_category.assign(**{TOTAL: per_category.sum(axis=1)})


def prophet_model():
    """Weekly and yearly seasonality, a salary-cycle (monthly) seasonality and Indian public holidays.

    Multiplicative: a festive week scales spending rather than adding a fixed amount.
    """
    from prophet import Prophet

    logging.getLogger("cmdstanpy").setLevel(logging.WARNING)  # two lines per fit, nothing a reader needs
    # Prophet asks `holidays` for 1995-2044 whatever the data's years, which warns every time.
    warnings.filterwarnings("ignore", message="Requested Holidays are available only", category=UserWarning)
    model = Prophet(
        weekly_seasonality=True,
        yearly_seasonality=True,
        daily_seasonality=False,
        seasonality_mode="multiplicative",
    )
    model.add_seasonality(name="monthly", period=30.5, fourier_order=5)
    model.add_country_holidays(country_name="IN")
    return model


def fit(series: pd.Series):
    model = prophet_model()
    model.fit(pd.DataFrame({"ds": series.index, "y": series.to_numpy()}))
    return model


def seasonal_naive(history: pd.Series, horizon: int) -> np.ndarray:
    """Each holdout day gets the spend of the same weekday in the last week of history."""
    return np.resize(history.to_numpy()[-WEEK:], horizon)


def mape(actual, predicted) -> float:
    """Mean absolute percentage error over the days with spending (a zero day has no percentage)."""
    actual, predicted = np.asarray(actual, dtype=float), np.asarray(predicted, dtype=float)
    spent = actual > 0
    return float(np.mean(np.abs(actual[spent] - predicted[spent]) / actual[spent])) if spent.any() else float("nan")
