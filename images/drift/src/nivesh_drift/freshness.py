"""Data freshness: each model's training data must have been updated within a maximum age."""

import json
from datetime import UTC, datetime
from pathlib import PurePosixPath

import fsspec

from nivesh_common.data import check_data_path
from nivesh_common.errors import BadInputError, GateFailedError
from nivesh_contract.names import SNAPSHOT_MANIFEST, data_asset_name


def dataset_age(name: str, path: str, now: datetime) -> dict:
    """When one dataset was last updated and its age in days: a refresh snapshot's extraction time from the manifest
    beside it, else the file's modification time (any fsspec URL that reports one)."""
    check_data_path(path)
    fs, fs_path = fsspec.core.url_to_fs(path)
    if not fs.exists(fs_path):
        raise BadInputError(f"{path}: {name}'s data does not exist")
    modified = _extracted_at(fs, fs_path) or fs.modified(fs_path)
    modified = modified if modified.tzinfo else modified.replace(tzinfo=UTC)
    return {
        "model": name,
        "asset": data_asset_name(name),
        "path": path,
        "modified": modified.isoformat(timespec="seconds"),
        "age_days": round((now - modified).total_seconds() / 86400, 2),
    }


def _extracted_at(fs, fs_path: str) -> datetime | None:
    """A snapshot's `manifest.json` (nivesh_pipelines.snapshots) says when it was extracted: a copy or a restore
    of the folder changes the file's modification time, not that."""
    manifest = f"{PurePosixPath(fs_path).parent}/{SNAPSHOT_MANIFEST}"
    if not fs.exists(manifest):
        return None
    try:
        with fs.open(manifest, "rb") as handle:
            return datetime.fromisoformat(json.load(handle)["extracted_at"])
    except (ValueError, KeyError, TypeError) as error:
        raise BadInputError(f"{manifest}: unreadable snapshot manifest ({error})") from None


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
