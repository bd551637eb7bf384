"""What a pipeline run decided, in one line per model, from the steps' XCom results."""

from dataclasses import dataclass

from nivesh_contract.catalog import MASTER
from nivesh_contract.results import DriftDecision, DriftReport, Notification, Status, StepResult
from nivesh_pipelines.approval import APPROVAL
from nivesh_pipelines.steps import DEPLOY, DRIFT_CHECK


@dataclass(frozen=True)
class ModelReport:
    """One model in a master run: the run it triggered, that run's `send_notification` result and what its own
    `check_drift` measured before training (against the production version of the time)."""

    model: str
    triggered_run: str | None
    notification: Notification | None
    drift_before_training: DriftDecision | None = None


@dataclass(frozen=True)
class Outcome:
    """A model pipeline run's outcome: its kind (promoted, staged, kept, skipped, rejected, gate_failed, failed),
    the step that decided it where one did, and the line a person reads."""

    kind: str
    line: str
    step: str = ""


DRIFT_SHARE = "drift share"
APPROVED = "Approve"  # ApprovalOperator's option
SMOKE_TESTED = "loads and answers in its image (smoke test)"


def describe_outcome(
    model: str,
    step_ids: list[str],
    results: dict[str, dict | None],
    failures: dict[str, StepResult | None] | None = None,
    forced: bool = False,
    approval: dict | None = None,
) -> Outcome:
    """`results`: task id -> XCom result (None where the step did not finish); `failures`: a failed step's result;
    `approval`: the approval task's answer, where a person was asked."""
    drift = results.get(DRIFT_CHECK)
    if drift and not drift["retrain"] and not forced:
        line = (
            f"{model}: skipped: no drift (production v{drift['production_version']} kept; "
            f"{DRIFT_SHARE} {drift['drift_share']:.2f}, {drift['reason']})"
        )
        return Outcome("skipped", line, DRIFT_CHECK)
    if approval and approval["chosen_options"] != [APPROVED]:
        production = (drift or {}).get("production_version")
        kept = f"kept v{production}" if production else "no production version yet"
        candidate = (results.get("register_model") or {}).get("version", "?")
        line = f"{model}: {kept}: candidate v{candidate} rejected by {_responder(approval)} at {APPROVAL}"
        return Outcome("rejected", line, APPROVAL)
    unfinished = [task_id for task_id in step_ids if results.get(task_id) is None]
    if unfinished:
        return _failed(model, unfinished[0], (failures or {}).get(unfinished[0]), drift)
    promotion = results[DEPLOY]
    metrics = (results.get("evaluate_model") or {}).get("metrics", {})
    shown = ", ".join(f"{name.removeprefix('test_')} {value:.3g}" for name, value in sorted(metrics.items()))
    if promotion.get("promoted"):
        approved = f", approved by {_responder(approval)}" if approval else ""
        line = f"{model}: promoted v{promotion['production_version']} ({shown}){approved}; {SMOKE_TESTED}"
        return Outcome("promoted", line, DEPLOY)
    if "staging_version" in promotion:  # a staged rollout: judged on live requests before production moves
        line = f"{model}: staged v{promotion['staging_version']} ({shown}): {promotion['reason']}"
        return Outcome("staged", line, DEPLOY)
    line = (
        f"{model}: kept v{promotion['production_version']}, candidate v{promotion['candidate_version']} "
        f"not promoted: {promotion['reason']} ({shown})"
    )
    return Outcome("kept", line, DEPLOY)


def _responder(approval: dict) -> str:
    """Who answered in the UI or the REST API; Airflow answers itself (the default, Reject) when time runs out."""
    user = approval.get("responded_by_user") or {}
    return user.get("name") or user.get("id") or "nobody in time"


def _failed(model: str, task_id: str, failure: StepResult | None, drift: DriftDecision | None) -> Outcome:
    if failure and failure.get("status") == Status.GATE_FAILED:
        production = (drift or failure).get("production_version")
        kept = f"kept v{production}" if production else "no production version yet"
        line = f"{model}: {kept} because a gate failed at {task_id}: {failure['error']}"
        return Outcome("gate_failed", line, task_id)
    detail = f": {failure['error']}" if failure and failure.get("error") else ""
    return Outcome("failed", f"{model}: failed at step {task_id}{detail}", task_id)


def describe_master_run(
    run_id: str, reports: list[ModelReport], freshness_failure: StepResult | None, drift: DriftReport | None
) -> str:
    """The master pipeline's summary: one line per model with its outcome and the drift that decided it.

    The drift is what the model's own `check_drift` measured before training, against the production version
    of the time: the master's `run_drift_detection` runs after retraining, against the versions just trained
    on the same data, so it reads about 0 by design and only says whether it finished.
    """
    lines = [f"Nivesh training summary ({MASTER.dag_id}, run {run_id})"]
    if freshness_failure:
        lines.append(f"data freshness: {freshness_failure['error']}")
    for report in reports:
        outcome = _model_outcome(report, freshness_failure)
        if DRIFT_SHARE in outcome:  # a skip already says the share its check_drift measured
            lines.append(f"- {outcome}")
        else:
            lines.append(f"- {outcome}; {_drift_before_training(report.drift_before_training)}")
    if drift is None:
        lines.append("drift detection did not finish: see task run_drift_detection")
    return "\n".join(lines)


def _model_outcome(report: ModelReport, freshness_failure: StepResult | None) -> str:
    if report.notification:
        return report.notification["outcome"]
    if report.triggered_run:
        return f"{report.model}: failed: run {report.triggered_run} ended without its notification"
    return f"{report.model}: not run" + (" (stale data)" if freshness_failure else "")


def _drift_before_training(decision: DriftDecision | None) -> str:
    if decision is None:
        return f"{DRIFT_SHARE} before training n/a"
    if "drift_share" not in decision:
        return f"no drift measured before training ({decision['reason']})"
    return (
        f"{DRIFT_SHARE} before training {decision['drift_share']:.2f} against production "
        f"v{decision['production_version']} ({decision['reason']})"
    )
