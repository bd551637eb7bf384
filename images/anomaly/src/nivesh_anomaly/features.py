"""Per-user behavioural features: how unusual a transaction is for the user who made it."""

import numpy as np
import pandas as pd

FEATURES = ["log_amount", "amount_vs_user", "hour_distance", "merchant_share", "txns_prev_hour", "log_gap_seconds"]


def _circular_hour_distance(hours: pd.Series, users: pd.Series) -> pd.Series:
    """Distance in hours (0-12) from the user's circular mean hour of day."""
    angle = hours / 24 * 2 * np.pi
    mean_angle = np.arctan2(
        np.sin(angle).groupby(users).transform("mean"), np.cos(angle).groupby(users).transform("mean")
    )
    difference = np.abs(np.angle(np.exp(1j * (angle - mean_angle))))
    return difference / (2 * np.pi) * 24


def transaction_features(transactions: pd.DataFrame) -> pd.DataFrame:
    """One row of FEATURES per transaction, in the input's order."""
    ordered = transactions.sort_values(["user_id", "timestamp"], kind="stable")
    users = ordered["user_id"]
    log_amount = np.log1p(ordered["amount"])
    median = log_amount.groupby(users).transform("median")
    spread = (log_amount - median).abs().groupby(users).transform("median") * 1.4826 + 0.1
    merchant_counts = ordered.groupby(["user_id", "merchant"])["amount"].transform("size")
    # `ordered` is sorted by user then time, so the grouped rolling counts come back in its row order.
    recent = (
        ordered.set_index("timestamp").groupby("user_id", sort=False)["amount"].rolling("60min").count().to_numpy() - 1
    )
    gap = ordered.groupby("user_id")["timestamp"].diff().dt.total_seconds().fillna(86_400)
    features = pd.DataFrame(
        {
            "log_amount": log_amount,
            "amount_vs_user": (log_amount - median) / spread,
            "hour_distance": _circular_hour_distance(
                ordered["timestamp"].dt.hour + ordered["timestamp"].dt.minute / 60, users
            ),
            "merchant_share": merchant_counts / users.map(users.value_counts()),
            "txns_prev_hour": recent,
            "log_gap_seconds": np.log1p(gap),
        },
        index=ordered.index,
    )
    return features.loc[transactions.index]
