"""The business side of a staged rollout: outcomes the app reports later (a transaction confirmed as fraud, a loan
that defaulted, an intent the user corrected), matched to the logged answers by request id.

The app appends JSON lines `{"request_id": "...", "outcome": ...}` to `<log dir>/<model>/outcomes/*.jsonl`; a
request reported twice counts with its last report (a correction). A version's outcome accuracy: the share of its
answered requests with a reported outcome whose declared field (`rollout.outcome`) equals it (compared as
lower-case text: true and True alike). Judged only once both versions have MIN_OUTCOMES matched requests.
"""

from dataclasses import dataclass
from pathlib import Path

from nivesh_common.errors import BadInputError
from nivesh_common.live_serving import json_lines
from nivesh_contract.rollout import Rollout

OUTCOMES_DIR = "outcomes"
MIN_OUTCOMES = 30


@dataclass(frozen=True)
class OutcomeAccuracy:
    matched: int  # answered requests with a reported outcome
    correct: int

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.matched if self.matched else None


def read_outcomes(log_dir: Path, model: str) -> dict[str, str]:
    """request id -> the reported outcome, as lower-case text."""
    outcomes = {}
    for path, number, report in json_lines(log_dir / model / OUTCOMES_DIR):
        if not isinstance(report, dict) or not isinstance(report.get("request_id"), str) or "outcome" not in report:
            raise BadInputError(f'{path}: line {number}: expected {{"request_id": text, "outcome": value}}')
        outcomes[report["request_id"]] = _text(report["outcome"])
    return outcomes


def outcome_accuracy(answers: list[dict], outcomes: dict[str, str], field: str) -> OutcomeAccuracy:
    """Over one version's answers of a single row (the ones an outcome can be matched to)."""
    matched = correct = 0
    for answer in answers:
        predictions = answer.get("predictions")
        reported = outcomes.get(answer.get("request_id", ""))
        if answer["status"] != 200 or reported is None or not isinstance(predictions, list) or len(predictions) != 1:
            continue
        (prediction,) = predictions
        matched += 1
        correct += _text(prediction.get(field) if isinstance(prediction, dict) else prediction) == reported
    return OutcomeAccuracy(matched, correct)


def outcome_failure(rollout: Rollout, production: OutcomeAccuracy, staging: OutcomeAccuracy) -> str | None:
    """Why staging's outcomes forbid it, if both versions have enough of them to judge."""
    if min(production.matched, staging.matched) < MIN_OUTCOMES:
        return None
    if staging.accuracy < production.accuracy - rollout.max_outcome_accuracy_drop:
        return (
            f"{rollout.outcome} matched the reported outcome on {staging.accuracy:.2%} of {staging.matched} requests "
            f"against production's {production.accuracy:.2%} of {production.matched} "
            f"(allowed: -{rollout.max_outcome_accuracy_drop:.2%})"
        )
    return None


def _text(value) -> str:
    return str(value).lower()
