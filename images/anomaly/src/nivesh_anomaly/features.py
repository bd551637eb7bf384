"""Per-user behavioural features: how unusual a transaction is for the user who made it, measured against
that user's profile as training learned it.

A profile holds the user's typical amount (median log amount and its robust spread), usual hour (circular
mean), known merchants (counts) and recent activity (the times of the last hour of transactions). Training
computes its features through `transaction_features` with the profiles of its own period; the served model
keeps the profiles and calls the same function, so a single new transaction can be scored.

Cold start: a user the profiles do not know is measured against the population (every training
transaction): its median amount, spread and mean hour, and each merchant's share of all transactions.
Recent activity counts a profile's times only where the new transactions come after them (a later batch);
scoring the training period again therefore gives the training-time features exactly.
"""

import numpy as np
import pandas as pd

FEATURES = ["log_amount", "amount_vs_user", "hour_distance", "merchant_share", "txns_prev_hour", "log_gap_seconds"]
USER, TIME, AMOUNT, MERCHANT = "user_id", "timestamp", "amount", "merchant"
POPULATION = "*"  # the cold-start profile's key (user ids are read as text, and "*" is none of ours)
RECENT = pd.Timedelta("60min")
FIRST_GAP_SECONDS = 86_400.0  # the gap before a user's first known transaction


def learn_profiles(transactions: pd.DataFrame) -> dict:
    """Per-user profiles (and the population's) of `transactions`, as JSON-ready data."""
    users = transactions[USER].astype(str)
    log_amount = np.log1p(transactions[AMOUNT].astype(float))
    angle = _hour_angle(transactions[TIME])
    median = log_amount.groupby(users).median()
    spread = (log_amount - users.map(median)).abs().groupby(users).median() * 1.4826 + 0.1
    hour = np.arctan2(np.sin(angle).groupby(users).mean(), np.cos(angle).groupby(users).mean())
    recent = transactions[TIME] > users.map(transactions[TIME].groupby(users).max()) - RECENT
    profiles = {
        user: {
            "median": float(median[user]),
            "spread": float(spread[user]),
            "hour_angle": float(hour[user]),
            "count": len(rows),
            "merchants": {str(m): int(n) for m, n in rows[MERCHANT].value_counts().items()},
            "recent": [moment.isoformat() for moment in sorted(rows.loc[recent.loc[rows.index], TIME])],
        }
        for user, rows in transactions.groupby(users)
    }
    profiles[POPULATION] = _population(log_amount, angle, transactions[MERCHANT])
    return profiles


def _population(log_amount: pd.Series, angle: pd.Series, merchants: pd.Series) -> dict:
    median = float(log_amount.median())
    return {
        "median": median,
        "spread": float((log_amount - median).abs().median() * 1.4826 + 0.1),
        "hour_angle": float(np.arctan2(np.sin(angle).mean(), np.cos(angle).mean())),
        "count": len(log_amount),
        "merchants": {str(m): int(n) for m, n in merchants.value_counts().items()},
        "recent": [],
    }


def _hour_angle(times: pd.Series) -> pd.Series:
    return (times.dt.hour + times.dt.minute / 60) / 24 * 2 * np.pi


def transaction_features(transactions: pd.DataFrame, profiles: dict) -> pd.DataFrame:
    """One row of FEATURES per transaction, in the input's order, against `profiles` (learn_profiles)."""
    users = transactions[USER].astype(str)
    own = users.where(users.isin(profiles.keys()), POPULATION)
    value = {
        name: own.map({user: profile[name] for user, profile in profiles.items()})
        for name in ("median", "spread", "hour_angle", "count")
    }
    log_amount = np.log1p(transactions[AMOUNT].astype(float))
    hour_difference = np.abs(np.angle(np.exp(1j * (_hour_angle(transactions[TIME]) - value["hour_angle"]))))
    merchants = zip(own, transactions[MERCHANT].astype(str), strict=True)
    known_merchant = [profiles[user]["merchants"].get(merchant, 0) for user, merchant in merchants]
    recent_count, gap = _activity(transactions[TIME], users, profiles)
    return pd.DataFrame(
        {
            "log_amount": log_amount,
            "amount_vs_user": (log_amount - value["median"]) / value["spread"],
            "hour_distance": hour_difference / (2 * np.pi) * 24,
            "merchant_share": np.asarray(known_merchant, dtype=float) / value["count"].to_numpy(dtype=float),
            "txns_prev_hour": recent_count,
            "log_gap_seconds": np.log1p(gap),
        },
        index=transactions.index,
    )


def _activity(times: pd.Series, users: pd.Series, profiles: dict) -> tuple[np.ndarray, np.ndarray]:
    """Per transaction: the user's transactions in the hour before it, and seconds since the user's previous one.

    History is the batch itself plus, for a batch that comes after a user's profile, the profile's recent times.
    """
    batch = pd.DataFrame({"user": users.to_numpy(), "time": times.to_numpy(), "row": np.arange(len(times))})
    first = batch.groupby("user")["time"].min()
    earlier = [
        (user, moment, -1)
        for user, start in first.items()
        for moment in pd.to_datetime((profiles.get(user) or {}).get("recent", []))
        if moment < start
    ]
    if earlier:
        batch = pd.concat([pd.DataFrame(earlier, columns=["user", "time", "row"]), batch], ignore_index=True)
    history = batch.astype({"row": int})
    history = history.sort_values(["user", "time"], kind="stable")
    # sorted by user then time: the grouped rolling counts come back in `history`'s row order
    counts = history.set_index("time").groupby("user", sort=False)["row"].rolling(RECENT).count().to_numpy() - 1
    gaps = history.groupby("user")["time"].diff().dt.total_seconds().fillna(FIRST_GAP_SECONDS).to_numpy()
    in_batch = history["row"].to_numpy() >= 0
    order = history["row"].to_numpy()[in_batch]
    recent_count, gap = np.empty(len(times)), np.empty(len(times))
    recent_count[order], gap[order] = counts[in_batch], gaps[in_batch]
    return recent_count, gap
