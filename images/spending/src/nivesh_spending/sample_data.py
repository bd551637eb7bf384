"""Synthetic transactions with the rhythms of Indian household spending.

Daily spend rises at weekends, after salary day (the first days of the month), through the festive
season (October-November) and on public holidays, and grows slowly over time.
"""

import holidays
import numpy as np
import pandas as pd

from nivesh_spending.schema import AMOUNT, CATEGORY, DATE, USER

# category: (share of transactions, median amount in rupees)
CATEGORIES = {
    "groceries": (0.24, 650),
    "food_delivery": (0.20, 380),
    "transport": (0.16, 220),
    "shopping": (0.12, 1400),
    "bills": (0.08, 1100),
    "entertainment": (0.08, 500),
    "health": (0.06, 700),
    "travel": (0.06, 3200),
}
TRANSACTIONS_PER_USER_DAY = 1.6


def _daily_rate(dates: pd.DatetimeIndex) -> np.ndarray:
    weekday = np.select([dates.dayofweek >= 5, dates.dayofweek == 4], [1.3, 1.1], 1.0)
    salary = np.select([dates.day <= 5, dates.day >= 26], [1.25, 0.88], 1.0)
    festive = 1 + 0.15 * np.cos(2 * np.pi * (dates.dayofyear - 305) / 365.25)  # peaks early November
    india = holidays.India(years=sorted(set(dates.year)))
    on_holiday = np.array([day in india for day in dates.date])
    eve = np.array([(day + pd.Timedelta(days=1)).date() in india for day in dates])
    holiday = np.select([on_holiday, eve], [1.5, 1.2], 1.0)
    trend = 1 + 0.1 * np.arange(len(dates)) / len(dates)
    return TRANSACTIONS_PER_USER_DAY * weekday * salary * festive * holiday * trend


def transactions(users: int, days: int, end: str, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.date_range(end=pd.Timestamp(end), periods=days, freq="D")
    counts = rng.poisson(users * _daily_rate(dates))
    names = list(CATEGORIES)
    shares = np.array([share for share, _ in CATEGORIES.values()])
    medians = np.array([median for _, median in CATEGORIES.values()])
    picked = rng.choice(len(names), size=counts.sum(), p=shares / shares.sum())
    amounts = np.round(rng.lognormal(np.log(medians[picked]), 0.7), 2)
    return pd.DataFrame(
        {
            DATE: np.repeat(dates.strftime("%Y-%m-%d"), counts),
            USER: [f"u{index:04d}" for index in rng.integers(0, users, size=counts.sum())],
            CATEGORY: np.array(names)[picked],
            AMOUNT: amounts,
        }
    )
