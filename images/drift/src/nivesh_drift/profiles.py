"""What drift means for each model: which columns are compared, after which derivation."""

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from pandas.api import types


@dataclass(frozen=True)
class DriftProfile:
    model: str
    # Turns a raw table (reference snapshot or new data) into the columns compared.
    derive: Callable[[pd.DataFrame], pd.DataFrame]


def _without_identifiers(table: pd.DataFrame) -> pd.DataFrame:
    """Every column but text columns unique in every row (identifiers say nothing about drift)."""
    identifiers = [c for c in table.columns if not types.is_numeric_dtype(table[c]) and table[c].is_unique]
    return table.drop(columns=identifiers)


def _transactions(table: pd.DataFrame) -> pd.DataFrame:
    """Amounts, hour of day, merchants and categories, the label share; not ids or raw timestamps."""
    derived = _without_identifiers(table.drop(columns=["timestamp", "user_id", "anomaly_type"], errors="ignore"))
    if "timestamp" in table:
        derived["hour_of_day"] = pd.to_datetime(table["timestamp"], format="mixed").dt.hour
    return derived


PROFILES = {
    "credit_risk_scorer": DriftProfile("credit_risk_scorer", _without_identifiers),
    "anomaly_detector": DriftProfile("anomaly_detector", _transactions),
}
