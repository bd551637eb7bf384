"""Data freshness: each model's training data must have been updated within a maximum age."""

from datetime import UTC, datetime

import fsspec

from nivesh_common.data import check_data_path
from nivesh_common.errors import BadInputError, GateFailedError
from nivesh_contract.names import data_asset_name


def dataset_age(name: str, path: str, now: datetime) -> dict:
    """Last modification time and age in days of one dataset (any fsspec URL that reports one)."""
    check_data_path(path)
    fs, fs_path = fsspec.core.url_to_fs(path)
    if not fs.exists(fs_path):
        raise BadInputError(f"{path}: {name}'s data does not exist")
    modified = fs.modified(fs_path)
    modified = modified if modified.tzinfo else modified.replace(tzinfo=UTC)
    return {
        "model": name,
        "asset": data_asset_name(name),
        "path": path,
        "modified": modified.isoformat(timespec="seconds"),
        "age_days": round((now - modified).total_seconds() / 86400, 2),
    }


def check_freshness(datasets: dict[str, str], max_age_days: float, now: datetime | None = None) -> dict:
    """Every dataset's age; exit 3 (GateFailedError) naming each one older than `max_age_days` by its Airflow asset
    (`credit_risk_scorer_training_data (/data/credit_risk/applications.csv): last modified 41.0 days ago, ...`)."""
    now = now or datetime.now(UTC)
    ages = [dataset_age(name, path, now) for name, path in datasets.items()]
    stale = [age for age in ages if age["age_days"] > max_age_days]
    report = {"max_age_days": max_age_days, "datasets": ages, "stale": [age["model"] for age in stale]}
    if stale:
        named = "; ".join(
            f"{age['asset']} ({age['path']}): last modified {age['age_days']:.1f} days ago, older than {max_age_days:g}"
            for age in stale
        )
        raise GateFailedError(f"stale data: {named}", report)
    return report
