"""Synthetic card and UPI transactions with labelled injected anomalies.

Each user has habits (typical amount, active hours, a handful of regular merchants). Anomalies break
one habit: an amount spike, a transaction at an odd hour, a first purchase at an unknown merchant
(usually larger than usual), or a burst of quick transactions.
"""

import numpy as np
import pandas as pd

CATEGORIES = {
    "groceries": ["BigBasket", "DMart", "Reliance Fresh", "More Supermarket", "Nature's Basket"],
    "food": ["Swiggy", "Zomato", "Haldiram's", "Cafe Coffee Day", "Domino's"],
    "transport": ["Uber", "Ola", "Rapido", "IRCTC", "Indian Oil"],
    "shopping": ["Amazon", "Flipkart", "Myntra", "Ajio", "Croma"],
    "bills": ["Airtel", "Jio", "Tata Power", "BESCOM", "ACT Fibernet"],
    "entertainment": ["BookMyShow", "Netflix", "Spotify", "PVR", "Hotstar"],
}
UNFAMILIAR_MERCHANTS = ["QuickPay Wallet 77", "Intl Electronics HK", "Crypto Exch 9", "GiftCard Hub", "Lucky Store 21"]
ANOMALY_TYPES = ("amount_spike", "odd_hour", "new_merchant", "burst")


def _user_transactions(rng: np.random.Generator, user: str, start: pd.Timestamp, days: int) -> list[dict]:
    categories = list(CATEGORIES)
    merchants = [rng.choice(CATEGORIES[c]) for c in rng.choice(categories, size=rng.integers(4, 9))]
    merchants = list(dict.fromkeys(merchants))
    typical = rng.lognormal(np.log(600), 0.6)
    wake, sleep = rng.integers(7, 11), rng.integers(20, 24)
    rows = []
    for day in range(days):
        for _ in range(rng.poisson(2.2)):
            merchant = merchants[min(int(rng.exponential(len(merchants) / 3)), len(merchants) - 1)]
            moment = start + pd.Timedelta(
                days=day,
                hours=int(rng.integers(wake, sleep)),
                minutes=int(rng.integers(0, 60)),
                seconds=int(rng.integers(0, 60)),
            )
            rows.append(
                {
                    "user_id": user,
                    "timestamp": moment,
                    "merchant": merchant,
                    "amount": round(typical * rng.lognormal(0, 0.45), 2),
                    "anomaly_type": "",
                }
            )
    return rows


def _inject(rng: np.random.Generator, normal: pd.DataFrame, kind: str) -> list[dict]:
    base = normal.iloc[int(rng.integers(len(normal)))].to_dict()
    day = base["timestamp"].normalize()
    if kind == "amount_spike":
        return [
            {
                **base,
                "amount": round(base["amount"] * rng.uniform(8, 30), 2),
                "timestamp": base["timestamp"] + pd.Timedelta(minutes=7),
                "anomaly_type": kind,
            }
        ]
    if kind == "odd_hour":
        moment = day + pd.Timedelta(hours=int(rng.integers(1, 5)), minutes=int(rng.integers(0, 60)))
        return [
            {
                **base,
                "timestamp": moment,
                "amount": round(base["amount"] * rng.uniform(1.5, 4), 2),
                "anomaly_type": kind,
            }
        ]
    if kind == "new_merchant":
        return [
            {
                **base,
                "merchant": str(rng.choice(UNFAMILIAR_MERCHANTS)),
                "anomaly_type": kind,
                "amount": round(base["amount"] * rng.uniform(2, 6), 2),
                "timestamp": base["timestamp"] + pd.Timedelta(minutes=13),
            }
        ]
    start = base["timestamp"] + pd.Timedelta(minutes=3)
    return [
        {
            **base,
            "timestamp": start + pd.Timedelta(seconds=int(s)),
            "anomaly_type": kind,
            "merchant": str(rng.choice(UNFAMILIAR_MERCHANTS)),
            "amount": round(base["amount"] * rng.uniform(0.5, 2), 2),
        }
        for s in np.sort(rng.integers(0, 600, size=rng.integers(4, 8)))
    ]


def transactions(users: int, days: int, seed: int, anomaly_rate: float = 0.015) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2026-01-01")
    normal = pd.DataFrame([row for u in range(users) for row in _user_transactions(rng, f"U{u:05d}", start, days)])
    injected = []
    for _ in range(int(len(normal) * anomaly_rate)):
        kind = str(rng.choice(ANOMALY_TYPES, p=[0.3, 0.3, 0.25, 0.15]))
        user_rows = normal[normal["user_id"] == normal["user_id"].iloc[int(rng.integers(len(normal)))]]
        injected += _inject(rng, user_rows, kind)
    table = pd.concat([normal, pd.DataFrame(injected)], ignore_index=True)
    table = table.sort_values(["timestamp", "user_id"], kind="stable").reset_index(drop=True)
    category_of = {m: c for c, ms in CATEGORIES.items() for m in ms}
    table["category"] = table["merchant"].map(category_of).fillna("other")
    table["is_anomaly"] = (table["anomaly_type"] != "").astype(int)
    table.insert(0, "transaction_id", [f"T{seed:04d}{i:08d}" for i in range(len(table))])
    table["timestamp"] = table["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%S")
    return table[
        ["transaction_id", "user_id", "timestamp", "amount", "merchant", "category", "is_anomaly", "anomaly_type"]
    ]
