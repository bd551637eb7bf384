"""Class coverage: what a model was trained on (counted by `train`), and whether new data still covers it.

The counts are the values of a column (a label, a category), or the labels of `[start, end, label]` spans;
they are logged with each training run (CLASS_COUNTS) so that new data can be held against production's.
"""

import json

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException

from nivesh_contract.declaration import Coverage

CLASS_COUNTS = "data/class_counts.json"  # {"column": ..., "counts": {class: rows}}
SHOWN_PROBLEMS = 5


def class_counts(table: pd.DataFrame, column: str, spans: bool) -> dict[str, int]:
    values = table[column]
    if spans:
        parsed = values.map(lambda value: json.loads(value) if isinstance(value, str) else value)
        values = parsed.explode().dropna().map(lambda span: span[2])
    return {str(label): int(count) for label, count in values.astype(str).value_counts().items()}


def trained_class_counts(run_id: str) -> dict | None:
    """The counts a training run logged ({"column": ..., "counts": ...}); None for a run trained before they were."""
    try:
        return mlflow.artifacts.load_dict(f"runs:/{run_id}/{CLASS_COUNTS}")
    except (MlflowException, OSError):
        return None


def coverage_problems(new: dict[str, int], trained_on: dict[str, int], rule: Coverage) -> list[str]:
    """What the new counts lack against the counts a model was trained on; empty when they cover them."""
    new_total, old_total = sum(new.values()) or 1, sum(trained_on.values()) or 1
    problems = []
    for label, old_count in sorted(trained_on.items(), key=lambda item: -item[1]):
        count = new.get(label, 0)
        new_share, old_share = count / new_total, old_count / old_total
        if count == 0:
            problems.append(f"{label}: none (production was trained on {old_count})")
        elif count < rule.min_per_class:
            problems.append(f"{label}: {count}, fewer than {rule.min_per_class}")
        elif not old_share / rule.share_ratio <= new_share <= old_share * rule.share_ratio:
            problems.append(
                f"{label}: {new_share:.1%} of all, production's {old_share:.1%} (at most ×{rule.share_ratio:g})"
            )
    return problems


def describe(problems: list[str]) -> str:
    more = len(problems) - SHOWN_PROBLEMS
    return "; ".join(problems[:SHOWN_PROBLEMS]) + (f"; and {more} more" if more > 0 else "")
