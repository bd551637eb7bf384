"""What a pipeline run decided, in one line per model, from the steps' XCom results."""


def describe_outcome(model: str, step_ids: list[str], results: dict[str, dict | None]) -> str:
    """`results` maps task id to its XCom result (None where the step did not finish)."""
    unfinished = [task_id for task_id in step_ids if results.get(task_id) is None]
    if unfinished:
        return f"{model}: failed at step {unfinished[0]}"
    promotion = results[step_ids[-1]]
    metrics = (results.get("evaluate_model") or {}).get("metrics", {})
    shown = ", ".join(f"{name.removeprefix('test_')} {value:.3f}" for name, value in sorted(metrics.items()))
    if promotion.get("promoted"):
        return f"{model}: promoted v{promotion['production_version']} ({shown})"
    return (
        f"{model}: kept v{promotion['production_version']}, candidate v{promotion['candidate_version']} "
        f"not promoted: {promotion['reason']} ({shown})"
    )
