"""The transactions data contract enforced by `validate` and relied on by `train`."""

import pandas as pd

from nivesh_common.data import require_columns
from nivesh_common.errors import BadInputError

REQUIRED_COLUMNS = ["user_id", "timestamp", "amount", "merchant"]
LABEL = "is_anomaly"
MIN_ROWS = 100


def _first_bad_row(mask: pd.Series) -> int:
    return int(mask.to_numpy().nonzero()[0][0]) + 1


def parse_transactions(table: pd.DataFrame, source: str, labelled: bool = True) -> pd.DataFrame:
    """Typed transactions: parsed timestamps, positive amounts, a 0/1 label where required."""
    require_columns(table, REQUIRED_COLUMNS + ([LABEL] if labelled else []), source)
    if len(table) < MIN_ROWS:
        raise BadInputError(f"{source}: {len(table)} rows; need at least {MIN_ROWS}")
    parsed = table.copy()
    parsed["timestamp"] = pd.to_datetime(table["timestamp"], errors="coerce", format="mixed")
    if parsed["timestamp"].isna().any():
        row = _first_bad_row(parsed["timestamp"].isna())
        raise BadInputError(
            f"{source}: column timestamp: row {row} is {table['timestamp'].iloc[row - 1]}, not a date-time"
        )
    parsed["amount"] = pd.to_numeric(table["amount"], errors="coerce")
    bad_amount = parsed["amount"].isna() | (parsed["amount"] <= 0)
    if bad_amount.any():
        row = _first_bad_row(bad_amount)
        raise BadInputError(
            f"{source}: column amount: row {row} is {table['amount'].iloc[row - 1]}, expected a positive number"
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
