"""`rollout-evaluate`: a staging version judged on the live requests its rollout logged, then promoted to
production or rolled back, the comparison written into the version's description.

Due once staging has answered `evaluate_after_requests` requests (in shadow: the copies it got) or
`evaluate_after_days` after it was staged. Staging fails on any of: its error rate above production's by more
than `max_error_rate_increase`; its p95 latency above `max_latency_p95_ratio` times production's; its predictions
(the declared `prediction` field) shifted from production's beyond `max_prediction_shift` (numbers: the two-sample
Kolmogorov-Smirnov statistic; labels: total variation distance). Production is never touched by a rollback.
"""

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion

from nivesh_common.errors import BadInputError
from nivesh_common.live_serving import json_lines
from nivesh_common.registry import version_by_alias
from nivesh_common.registry_lock import registry_lock
from nivesh_common.rollout_outcomes import outcome_accuracy, outcome_failure, read_outcomes
from nivesh_contract.declaration import ModelDeclaration
from nivesh_contract.names import PREVIOUS, PRODUCTION, ROLLED_BACK_TAG, ROLLOUT_TAG, STAGED_AT_TAG, STAGING
from nivesh_contract.results import RolloutEvaluated
from nivesh_contract.rollout import Decision, Rollout, comparison

log = logging.getLogger(__name__)
LOGGED_FIELDS = ("alias", "version", "status", "latency_ms")  # what judging needs of each answer


@dataclass(frozen=True)
class Arm:
    """What one version answered in the logs."""

    alias: str
    version: str
    requests: int
    errors: int
    latency_p95_ms: float
    predictions: tuple

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    def as_dict(self) -> dict:
        return {
            "version": int(self.version),
            "requests": self.requests,
            "error_rate": round(self.error_rate, 4),
            "latency_p95_ms": round(self.latency_p95_ms, 2),
        }


def read_answers(log_dir: Path, model: str) -> list[dict]:
    """Every answer every server of the model logged (`<log_dir>/<model>/*.jsonl`)."""
    answers = []
    for path, number, answer in json_lines(log_dir / model):
        if not _is_answer(answer):
            raise BadInputError(f"{path}: line {number} is not an answer the servers log")
        answers.append(answer)
    return answers


def _is_answer(answer) -> bool:
    if not isinstance(answer, dict) or not all(key in answer for key in LOGGED_FIELDS):
        return False
    status, latency = answer["status"], answer["latency_ms"]
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (status, latency))
    return numbers and isinstance(status, int) and latency >= 0 and isinstance(answer["alias"], str)


def answers_of(answers: list[dict], alias: str, version: str) -> list[dict]:
    return [a for a in answers if a["alias"] == alias and str(a["version"]) == version]


def arm_of(answers: list[dict], alias: str, version: str, field: str) -> Arm:
    mine = answers_of(answers, alias, version)
    latencies = [float(a["latency_ms"]) for a in mine]
    values = tuple(value for a in mine if a["status"] == 200 for value in _values(a.get("predictions"), field))
    return Arm(
        alias=alias,
        version=version,
        requests=len(mine),
        errors=sum(1 for a in mine if int(a["status"]) >= 400),
        latency_p95_ms=float(np.percentile(latencies, 95)) if latencies else 0.0,
        predictions=values,
    )


def _values(predictions, field: str) -> list:
    if not isinstance(predictions, list):
        return []
    return [p.get(field) if isinstance(p, dict) else p for p in predictions]


def prediction_shift(production: tuple, staging: tuple) -> float:
    """Numbers: the two-sample Kolmogorov-Smirnov statistic; anything else: total variation distance."""
    if not production or not staging:
        return 0.0
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in (*production, *staging)):
        a, b = np.sort(np.asarray(production, float)), np.sort(np.asarray(staging, float))
        grid = np.concatenate([a, b])
        return float(
            np.max(np.abs(np.searchsorted(a, grid, "right") / a.size - np.searchsorted(b, grid, "right") / b.size))
        )
    p, q = Counter(map(str, production)), Counter(map(str, staging))
    return 0.5 * sum(abs(p[k] / len(production) - q[k] / len(staging)) for k in p.keys() | q.keys())


def failures(rollout: Rollout, production: Arm, staging: Arm, shift: float) -> list[str]:
    """Why staging may not replace production; empty: it may."""
    found = []
    if staging.error_rate > production.error_rate + rollout.max_error_rate_increase:
        found.append(
            f"error rate {staging.error_rate:.2%} against production's {production.error_rate:.2%} "
            f"(allowed: +{rollout.max_error_rate_increase:.2%})"
        )
    if production.latency_p95_ms and staging.latency_p95_ms > rollout.max_latency_p95_ratio * production.latency_p95_ms:
        found.append(
            f"p95 latency {staging.latency_p95_ms:.1f} ms against production's {production.latency_p95_ms:.1f} ms "
            f"(allowed: x{rollout.max_latency_p95_ratio:g})"
        )
    if shift > rollout.max_prediction_shift:
        found.append(
            f"{rollout.prediction} shifted by {shift:.3f} from production's (allowed: {rollout.max_prediction_shift:g})"
        )
    if staging.requests == 0:
        found.append("it answered no request")
    return found


def evaluate_staging(
    client: MlflowClient, model: ModelDeclaration, log_dir: Path, approved: bool, now: datetime | None = None
) -> RolloutEvaluated:
    """Judge `staging` if due; promote it (when `approved`, or the model needs no approval) or roll it back."""
    rollout, now = model.rollout, now or datetime.now(UTC)
    if not rollout.staged:
        raise BadInputError(f"{model.name}: rollout strategy {rollout.strategy}: there is no staging to evaluate")
    if version_by_alias(client, model.name, STAGING) is None:  # between rollouts, the usual hour: no lock taken
        return _nothing_staged(model)
    with registry_lock(client, model.name):
        staging = version_by_alias(client, model.name, STAGING)
        production = version_by_alias(client, model.name, PRODUCTION)
        if staging is None or production is None:
            return _nothing_staged(model)
        answers = read_answers(log_dir, model.name)
        theirs = arm_of(answers, PRODUCTION, str(production.version), rollout.prediction)
        ours = arm_of(answers, STAGING, str(staging.version), rollout.prediction)
        shift = prediction_shift(theirs.predictions, ours.predictions)
        outcome = {
            "model": model.name,
            "strategy": str(rollout.strategy),
            "staging": ours.as_dict(),
            "production": theirs.as_dict(),
            "prediction_shift": round(shift, 4),
        }
        business = _outcomes(rollout, answers, log_dir, model.name, (production, staging), outcome)
        staged_for = now - _staged_at(staging, now)
        if ours.requests < rollout.evaluate_after_requests and staged_for < timedelta(days=rollout.evaluate_after_days):
            due = f"{ours.requests} of {rollout.evaluate_after_requests} requests, staged {_days(staged_for)} ago"
            return {**outcome, "decision": Decision.WAITING, "reason": f"not due yet: {due}"}
        found = failures(rollout, theirs, ours, shift) + ([business] if business else [])
        if found:
            reason = f"v{staging.version} rolled back: {'; '.join(found)}"
            judged = {**outcome, "decision": Decision.ROLLED_BACK, "reason": reason}
            _roll_back(client, model.name, staging, comparison(judged))
            return judged
        if model.approval_on_cluster and not approved:
            reason = f"v{staging.version} passed on live requests; a person approves (rollout-evaluate --approve)"
            return {**outcome, "decision": Decision.AWAITING_APPROVAL, "reason": reason}
        reason = f"v{staging.version} promoted: not worse than production v{production.version} on live requests"
        judged = {**outcome, "decision": Decision.PROMOTED, "reason": reason}
        _promote(client, model.name, staging, production, comparison(judged))
        return judged


def _nothing_staged(model: ModelDeclaration) -> RolloutEvaluated:
    return {
        "model": model.name,
        "strategy": str(model.rollout.strategy),
        "decision": Decision.NOTHING_STAGED,
        "reason": "no staging version beside a production one: nothing to evaluate",
        "staging": {},
        "production": {},
        "prediction_shift": 0.0,
    }


def _outcomes(rollout: Rollout, answers, log_dir: Path, model: str, versions, outcome: dict) -> str | None:
    """Where the rollout declares an outcome: each version's accuracy on the reported outcomes (into `outcome`),
    and why staging fails on them, if it does."""
    if not rollout.outcome:
        return None
    reported = read_outcomes(log_dir, model)
    production, staging = (
        outcome_accuracy(answers_of(answers, alias, str(version.version)), reported, rollout.outcome)
        for alias, version in zip((PRODUCTION, STAGING), versions, strict=True)
    )
    for side, figures in (("production", production), ("staging", staging)):
        accuracy = None if figures.accuracy is None else round(figures.accuracy, 4)
        outcome[side] |= {"outcomes": figures.matched, "outcome_accuracy": accuracy}
    return outcome_failure(rollout, production, staging)


def _staged_at(staging: ModelVersion, now: datetime) -> datetime:
    staged = staging.tags.get(STAGED_AT_TAG)
    return datetime.fromisoformat(staged) if staged else now


def _days(span: timedelta) -> str:
    return f"{span.total_seconds() / 86400:.1f} days"


def _describe(client: MlflowClient, name: str, version: ModelVersion, text: str) -> None:
    description = f"{version.description}\n\n{text}" if version.description else text
    client.update_model_version(name, version.version, description=description)


def _roll_back(client: MlflowClient, name: str, staging: ModelVersion, text: str) -> None:
    client.delete_registered_model_alias(name, STAGING)
    client.set_model_version_tag(name, staging.version, ROLLOUT_TAG, "rolled_back")
    client.set_model_version_tag(name, staging.version, ROLLED_BACK_TAG, "true")
    _describe(client, name, staging, text)
    log.info("rolled back staging v%s of %s; production untouched", staging.version, name)


def _promote(client: MlflowClient, name: str, staging: ModelVersion, production: ModelVersion, text: str) -> None:
    # `previous` first, then production, then staging goes: interrupted, a re-run finds staging and finishes.
    client.set_registered_model_alias(name, PREVIOUS, production.version)
    client.set_registered_model_alias(name, PRODUCTION, staging.version)
    client.delete_registered_model_alias(name, STAGING)
    client.set_model_version_tag(name, staging.version, ROLLOUT_TAG, "promoted")
    _describe(client, name, staging, text)
    log.info("promoted staging v%s of %s to production", staging.version, name)
