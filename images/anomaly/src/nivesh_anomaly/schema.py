"""The transactions data contract enforced by `validate` and by `train` before it opens a run."""

import numpy as np
import pandas as pd

from nivesh_common.data import require_columns
from nivesh_common.errors import BadInputError
from nivesh_common.timestamps import parse_timestamps, require_plausible_dates

REQUIRED_COLUMNS = ["user_id", "timestamp", "amount", "merchant"]
LABEL = "is_anomaly"
MIN_ROWS = 100
# One transaction of a personal-finance app; above it, a value is a unit or export error (and sums overflow).
AMOUNT_CEILING = 1e9


def _first_bad_row(mask: pd.Series) -> int:
    return int(mask.to_numpy().nonzero()[0][0]) + 1


def parse_transactions(table: pd.DataFrame, source: str, date_order: str = "", labelled: bool = True) -> pd.DataFrame:
    """Typed transactions: timestamps in UTC, positive finite amounts, a 0/1 label where required."""
    require_columns(table, REQUIRED_COLUMNS + ([LABEL] if labelled else []), source)
    if len(table) < MIN_ROWS:
        raise BadInputError(f"{source}: {len(table)} rows; need at least {MIN_ROWS}")
    parsed = table.copy()
    parsed["timestamp"] = parse_timestamps(table["timestamp"], source, "timestamp", date_order)
    require_plausible_dates(parsed["timestamp"], source, "timestamp")
    parsed["amount"] = pd.to_numeric(table["amount"], errors="coerce")
    bad_amount = ~np.isfinite(parsed["amount"]) | (parsed["amount"] <= 0) | (parsed["amount"] > AMOUNT_CEILING)
    if bad_amount.any():
        row = _first_bad_row(bad_amount)
        raise BadInputError(
            f"{source}: column amount: row {row} is {table['amount'].iloc[row - 1]}, expected a positive finite number "
            f"up to {AMOUNT_CEILING:.0e}"
        )
    for column in ("user_id", "merchant"):
        if table[column].isna().any():
            raise BadInputError(f"{source}: column {column}: row {_first_bad_row(table[column].isna())} is empty")
    if labelled:
        labels = pd.to_numeric(table[LABEL], errors="coerce")
        if not labels.isin([0, 1]).all():
            row = _first_bad_row(~labels.isin([0, 1]))
            raise BadInputError(f"{source}: column {LABEL}: row {row} is {table[LABEL].iloc[row - 1]}, expected 0 or 1")
        if labels.sum() == 0:
            raise BadInputError(f"{source}: column {LABEL}: no labelled anomalies; evaluation needs some")
        parsed[LABEL] = labels.astype(int)
    return parsed


def time_split(transactions: pd.DataFrame, test_share: float, source: str) -> tuple[pd.Series, pd.Series]:
    """Train on the earlier transactions, test on the latest `test_share` of them (no look-ahead); both
    periods must hold transactions, and the test period labelled anomalies."""
    cutoff = transactions["timestamp"].quantile(1 - test_share)
    train, test = transactions["timestamp"] < cutoff, transactions["timestamp"] >= cutoff
    if not train.any():
        raise BadInputError(
            f"{source}: column timestamp: every transaction is at or after {cutoff}; nothing to train on before "
            "the test period"
        )
    if not transactions.loc[test, LABEL].any():
        raise BadInputError(f"{source}: no labelled anomalies after {cutoff}; the test period cannot be evaluated")
    return train, test
