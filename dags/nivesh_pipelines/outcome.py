"""What a pipeline run decided, in one line per model, from the steps' XCom results."""

from nivesh_pipelines.catalog import DRIFT_CHECK


def describe_outcome(model: str, step_ids: list[str], results: dict[str, dict | None], forced: bool = False) -> str:
    """`results` maps task id to its XCom result (None where the step did not finish)."""
    drift = results.get(DRIFT_CHECK)
    if drift and not drift["retrain"] and not forced:
        return (
            f"{model}: skipped: no drift (production v{drift['production_version']} kept; "
            f"drift share {drift['drift_share']:.2f}, {drift['reason']})"
        )
    unfinished = [task_id for task_id in step_ids if results.get(task_id) is None]
    if unfinished:
        return f"{model}: failed at step {unfinished[0]}"
    promotion = results[step_ids[-1]]
    metrics = (results.get("evaluate_model") or {}).get("metrics", {})
    shown = ", ".join(f"{name.removeprefix('test_')} {value:.3g}" for name, value in sorted(metrics.items()))
    if promotion.get("promoted"):
        return f"{model}: promoted v{promotion['production_version']} ({shown})"
    return (
        f"{model}: kept v{promotion['production_version']}, candidate v{promotion['candidate_version']} "
        f"not promoted: {promotion['reason']} ({shown})"
    )
