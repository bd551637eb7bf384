"""What a pipeline run decided, in one line per model, from the steps' XCom results."""

from dataclasses import dataclass

from nivesh_contract.catalog import MASTER
from nivesh_contract.results import DriftDecision, DriftReport, Notification, Status, StepResult
from nivesh_pipelines.steps import DRIFT_CHECK


@dataclass(frozen=True)
class ModelReport:
    """One model in a master run: the run it triggered and that run's `send_notification` result."""

    model: str
    triggered_run: str | None
    notification: Notification | None


DRIFT_SHARE = "drift share"


def describe_outcome(
    model: str,
    step_ids: list[str],
    results: dict[str, dict | None],
    failures: dict[str, StepResult | None] | None = None,
    forced: bool = False,
) -> str:
    """`results`: task id -> XCom result (None where the step did not finish); `failures`: a failed step's result."""
    drift = results.get(DRIFT_CHECK)
    if drift and not drift["retrain"] and not forced:
        return (
            f"{model}: skipped: no drift (production v{drift['production_version']} kept; "
            f"{DRIFT_SHARE} {drift['drift_share']:.2f}, {drift['reason']})"
        )
    unfinished = [task_id for task_id in step_ids if results.get(task_id) is None]
    if unfinished:
        return _failed(model, unfinished[0], (failures or {}).get(unfinished[0]), drift)
    promotion = results[step_ids[-1]]
    metrics = (results.get("evaluate_model") or {}).get("metrics", {})
    shown = ", ".join(f"{name.removeprefix('test_')} {value:.3g}" for name, value in sorted(metrics.items()))
    if promotion.get("promoted"):
        return f"{model}: promoted v{promotion['production_version']} ({shown})"
    return (
        f"{model}: kept v{promotion['production_version']}, candidate v{promotion['candidate_version']} "
        f"not promoted: {promotion['reason']} ({shown})"
    )


def _failed(model: str, task_id: str, failure: StepResult | None, drift: DriftDecision | None) -> str:
    if failure and failure.get("status") == Status.GATE_FAILED:
        production = (drift or failure).get("production_version")
        kept = f"kept v{production}" if production else "no production version yet"
        return f"{model}: {kept} because a gate failed at {task_id}: {failure['error']}"
    detail = f": {failure['error']}" if failure and failure.get("error") else ""
    return f"{model}: failed at step {task_id}{detail}"


def describe_master_run(
    run_id: str, reports: list[ModelReport], freshness_failure: StepResult | None, drift: DriftReport | None
) -> str:
    """The master pipeline's summary: one line per model with its outcome and drift share."""
    drift_rows = {row["model"]: row for row in (drift or {}).get("models", [])}
    lines = [f"Nivesh training summary ({MASTER.dag_id}, run {run_id})"]
    if freshness_failure:
        lines.append(f"data freshness: {freshness_failure['error']}")
    for report in reports:
        outcome = _model_outcome(report, freshness_failure)
        if DRIFT_SHARE in outcome:  # a skip already says the share its check_drift measured
            lines.append(f"- {outcome}")
        else:
            lines.append(f"- {outcome}; {_drift_share(drift_rows.get(report.model))}")
    if drift is None:
        lines.append("drift detection did not finish: see task run_drift_detection")
    return "\n".join(lines)


def _model_outcome(report: ModelReport, freshness_failure: StepResult | None) -> str:
    if report.notification:
        return report.notification["outcome"]
    if report.triggered_run:
        return f"{report.model}: failed: run {report.triggered_run} ended without its notification"
    return f"{report.model}: not run" + (" (stale data)" if freshness_failure else "")


def _drift_share(row: DriftDecision | None) -> str:
    if row is None:
        return f"{DRIFT_SHARE} n/a"
    if "drift_share" not in row:
        return f"drift: {row['reason']}"
    return f"{DRIFT_SHARE} {row['drift_share']:.2f}"
