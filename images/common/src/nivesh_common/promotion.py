"""`promote`: champion/challenger on both evaluation sets, one registry move of a model at a time.

The candidate is judged on its own test split and on production's: on each, it must not trail
production's score by more than the tolerance. Production's split is the one a degenerate candidate
fails (trained on one intent, it scores well only on data that holds one intent). Rows of production's
split may have been in the candidate's training data, which can only flatter the candidate: that check
never stops a good candidate, it stops one that lost what production knew.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion

from nivesh_common.errors import BadInputError
from nivesh_common.registry import get_version, require_gates, version_by_alias
from nivesh_common.registry_lock import registry_lock
from nivesh_common.tracking import get_run
from nivesh_contract.declaration import ModelDeclaration
from nivesh_contract.names import CANDIDATE, PREVIOUS, PRODUCTION, ROLLED_BACK_TAG, ROLLOUT_TAG, STAGED_AT_TAG, STAGING
from nivesh_contract.results import Promoted
from nivesh_contract.rollout import Rollout, Strategy

log = logging.getLogger(__name__)

# score(model URI, the run that trained it, the run whose test split to score on) -> the promotion metric.
Scorer = Callable[[str, str, str], float]


@dataclass(frozen=True)
class Contest:
    """Candidate and production scored on one evaluation set."""

    evaluation_set: str
    candidate: float
    production: float

    def as_dict(self) -> dict:
        return {"candidate": round(self.candidate, 6), "production": round(self.production, 6)}


def promote_candidate(
    client: MlflowClient,
    model: ModelDeclaration,
    version: int,
    tolerance: float,
    score: Scorer,
    allow_rolled_back: bool = False,
    dry_run: bool = False,
) -> Promoted:
    """Move `production` to `version` if its gates passed and it is not worse than production on either split;
    `dry_run`: judge only, and say whether it would move (what a person approving the move reads)."""
    if dry_run:
        judged = _promote(client, model, version, tolerance, score, allow_rolled_back, _would_move)
        return {**judged, "dry_run": True, "would_promote": judged.get("would_promote", False)}
    move = _stage if model.rollout.staged else _move
    promoted = _promote(client, model, version, tolerance, score, allow_rolled_back, move)
    if "staging_version" in promoted:
        promoted["reason"] += f"; staged: {_how_staged(model.rollout, promoted['staging_version'])}"
    return promoted


def _promote(
    client: MlflowClient,
    model: ModelDeclaration,
    version: int,
    tolerance: float,
    score: Scorer,
    allow_rolled_back: bool,
    move: Callable[[MlflowClient, str, ModelVersion, ModelVersion | None], dict],
) -> Promoted:
    with registry_lock(client, model.name):
        candidate = get_version(client, model.name, version)
        require_gates(client, candidate.run_id, model.gate_names)
        champion = version_by_alias(client, model.name, PRODUCTION)
        outcome = {"model": model.name, "candidate_version": int(candidate.version), "metric": model.promotion.metric}
        refusal = _refusal(candidate, champion, allow_rolled_back)
        if refusal:
            return {**outcome, **refusal}
        if champion is None:
            return {**outcome, **move(client, model.name, candidate, None), "reason": "no production version yet"}
        try:
            contests = _contests(client, model, candidate, champion, score)
        except BadInputError as exc:
            return {**outcome, **_kept(champion, f"v{candidate.version} cannot be judged against production: {exc}")}
        outcome |= {
            "champion_version": int(champion.version),
            "scores": {c.evaluation_set: c.as_dict() for c in contests},
        }
        losses = [c for c in contests if model.promotion.is_worse(c.candidate, c.production, tolerance)]
        if losses:
            return {**outcome, **_kept(champion, _loss_reason(model, champion, losses, tolerance))}
        return {**outcome, **move(client, model.name, candidate, champion), "reason": "not worse than production"}


def _refusal(candidate: ModelVersion, champion: ModelVersion | None, allow_rolled_back: bool) -> dict | None:
    if champion is not None and champion.version == candidate.version:
        return {"promoted": True, "production_version": int(champion.version), "reason": "already production"}
    if candidate.tags.get(ROLLED_BACK_TAG) == "true" and not allow_rolled_back and champion is not None:
        reason = f"v{candidate.version} was rolled back; promote it again only with --allow-rolled-back"
        return _kept(champion, reason)
    return None


def _contests(
    client: MlflowClient, model: ModelDeclaration, candidate: ModelVersion, champion: ModelVersion, score: Scorer
) -> tuple[Contest, Contest]:
    candidate_uri, champion_uri = (f"models:/{model.name}/{v.version}" for v in (candidate, champion))
    # On its own split the candidate's score is the one `evaluate` measured and gated.
    own = get_run(client, candidate.run_id).data.metrics[model.promotion.metric]
    return (
        Contest("candidate_test_split", own, score(champion_uri, champion.run_id, candidate.run_id)),
        Contest(
            "production_test_split",
            score(candidate_uri, candidate.run_id, champion.run_id),
            score(champion_uri, champion.run_id, champion.run_id),
        ),
    )


def _loss_reason(model: ModelDeclaration, champion: ModelVersion, losses: list[Contest], tolerance: float) -> str:
    where = "; ".join(
        f"on {c.evaluation_set.replace('_', ' ')} {c.candidate:.4f} against {c.production:.4f}" for c in losses
    )
    worse = f"candidate {model.promotion.metric} is worse than production v{champion.version}"
    return f"{worse} beyond tolerance {tolerance}: {where}"


def _kept(champion: ModelVersion, reason: str) -> dict:
    log.info("keeping production v%s: %s", champion.version, reason)
    return {"promoted": False, "production_version": int(champion.version), "reason": reason}


def _would_move(_client: MlflowClient, _name: str, candidate: ModelVersion, champion: ModelVersion | None) -> dict:
    production = int(champion.version) if champion else None
    return {"promoted": False, "would_promote": True, "production_version": production}


def _how_staged(rollout: Rollout, version: int) -> str:
    if rollout.strategy is Strategy.CANARY:
        answers = f"answers {rollout.share_percent:g}% of users (canary)"
    else:
        answers = "gets a copy of every request (shadow)"
    return f"v{version} {answers} beside production until it is judged on live requests"


def _stage(client: MlflowClient, name: str, candidate: ModelVersion, champion: ModelVersion | None) -> dict:
    """A staged rollout: the candidate becomes `staging` beside production (a first version has nothing to be
    judged against: it becomes production)."""
    if champion is None:
        return _move(client, name, candidate, None)
    client.set_registered_model_alias(name, STAGING, candidate.version)
    client.set_model_version_tag(name, candidate.version, ROLLOUT_TAG, "staged")
    client.set_model_version_tag(name, candidate.version, STAGED_AT_TAG, datetime.now(UTC).isoformat())
    waiting = version_by_alias(client, name, CANDIDATE)
    if waiting is not None and waiting.version == candidate.version:
        client.delete_registered_model_alias(name, CANDIDATE)
    log.info("staged %s version %s beside production version %s", name, candidate.version, champion.version)
    return {"promoted": False, "production_version": int(champion.version), "staging_version": int(candidate.version)}


def _move(client: MlflowClient, name: str, candidate: ModelVersion, champion: ModelVersion | None) -> dict:
    # `previous` first: if the next call fails, production is untouched and a re-run finishes the move.
    if champion is not None:
        client.set_registered_model_alias(name, PREVIOUS, champion.version)
    client.set_registered_model_alias(name, PRODUCTION, candidate.version)
    # `candidate` means "waiting for promotion": it leaves the version that got there, not a newer one.
    waiting = version_by_alias(client, name, CANDIDATE)
    if waiting is not None and waiting.version == candidate.version:
        client.delete_registered_model_alias(name, CANDIDATE)
    log.info("promoted %s version %s to production", name, candidate.version)
    previous = int(champion.version) if champion else None
    return {"promoted": True, "production_version": int(candidate.version), "previous_version": previous}
