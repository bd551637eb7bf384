"""The transactions data contract: `date`, `amount` (≥ 0), `category`, optionally `user_id`.

At least MIN_HISTORY_DAYS of history and no gap between transaction days longer than the forecast horizon.
"""

import numpy as np
import pandas as pd

from nivesh_common.data import require_columns
from nivesh_common.errors import BadInputError
from nivesh_common.timestamps import parse_timestamps, require_plausible_dates

DATE, AMOUNT, CATEGORY, USER = "date", "amount", "category", "user_id"
MIN_HISTORY_DAYS = 60
HORIZON_DAYS = 30  # the holdout window and the forecast horizon
TOTAL = "total"  # the series of all categories together
# One transaction of a personal-finance app; above it, a value is a unit or export error (and daily sums overflow).
AMOUNT_CEILING = 1e9


def _first_bad_row(mask: pd.Series) -> int:
    return int(mask.to_numpy().nonzero()[0][0]) + 1


def parse_transactions(table: pd.DataFrame, source: str, date_order: str = "") -> pd.DataFrame:
    """Typed transactions (dates as UTC days, numeric amounts); errors name the column and the 1-based row."""
    require_columns(table, [DATE, AMOUNT, CATEGORY], source)
    columns = [DATE, AMOUNT, CATEGORY] + ([USER] if USER in table else [])
    parsed = table[columns].copy()
    parsed[DATE] = parse_timestamps(table[DATE], source, DATE, date_order).dt.normalize()
    require_plausible_dates(parsed[DATE], source, DATE)
    parsed[AMOUNT] = pd.to_numeric(table[AMOUNT], errors="coerce")
    bad_amount = ~np.isfinite(parsed[AMOUNT]) | (parsed[AMOUNT] < 0) | (parsed[AMOUNT] > AMOUNT_CEILING)
    if bad_amount.any():
        row = _first_bad_row(bad_amount)
        value = str(table[AMOUNT].iloc[row - 1])
        expected = f"expected a finite number ≥ 0 up to {AMOUNT_CEILING:.0e}"
        raise BadInputError(f"{source}: column {AMOUNT}: row {row} is {value!r}, {expected}")
    bad_category = table[CATEGORY].isna() | (table[CATEGORY].astype(str).str.strip() == "")
    if bad_category.any():
        raise BadInputError(f"{source}: column {CATEGORY}: row {_first_bad_row(bad_category)} is empty")
    parsed[CATEGORY] = parsed[CATEGORY].astype(str).str.strip()
    reserved = parsed[CATEGORY] == TOTAL
    if reserved.any():
        raise BadInputError(
            f"{source}: column {CATEGORY}: row {_first_bad_row(reserved)} is {TOTAL!r}, the name of the total spend"
        )
    _require_history(parsed[DATE], source)
    return parsed.reset_index(drop=True)


def _require_history(dates: pd.Series, source: str) -> None:
    days = pd.Series(dates.unique()).sort_values(ignore_index=True)
    span = (days.iloc[-1] - days.iloc[0]).days + 1
    if span < MIN_HISTORY_DAYS:
        raise BadInputError(
            f"{source}: column {DATE}: {span} days of history ({days.iloc[0]:%Y-%m-%d} to {days.iloc[-1]:%Y-%m-%d}); "
            f"need at least {MIN_HISTORY_DAYS}"
        )
    gaps = days.diff().dt.days
    longest = int(gaps.idxmax())
    if gaps.iloc[longest] > HORIZON_DAYS:
        raise BadInputError(
            f"{source}: column {DATE}: no transactions from {days.iloc[longest - 1]:%Y-%m-%d} to "
            f"{days.iloc[longest]:%Y-%m-%d} ({int(gaps.iloc[longest])} days), longer than the "
            f"{HORIZON_DAYS}-day forecast horizon"
        )
