"""What `make run` prints while it follows the master run: tasks in the order they ended, skips folded, what runs."""

from datetime import UTC, datetime

from nivesh_platform.progress import ended_lines, running_line


def task(task_id: str, state: str, end: str = "", start: str = "", duration: float = 1.0) -> dict:
    return {"task_id": task_id, "state": state, "end_date": end, "start_date": start, "duration": duration}


def test_tasks_are_told_in_the_order_they_ended_and_skips_fold_into_one_line_per_dag():
    ended = [
        ("credit_risk_training", task("approve_promotion", "skipped", "2026-12-05T10:00:09+00:00")),
        ("credit_risk_training", task("approval_required", "success", "2026-12-05T10:00:05+00:00", duration=0.4)),
        ("anomaly_detector_training", task("promote", "skipped", "2026-12-05T10:00:07+00:00")),
        ("credit_risk_training", task("register_model", "skipped", "2026-12-05T10:00:08+00:00")),
    ]
    assert ended_lines(ended) == [
        "credit_risk_training.approval_required: success (0.4 s)",
        "anomaly_detector_training: skipped promote",
        "credit_risk_training: skipped register_model, approve_promotion",
    ]


def test_what_runs_is_told_with_how_long_it_has_run():
    now = datetime(2026, 12, 5, 10, 2, 5, tzinfo=UTC)
    running = [
        ("financial_ner_training", task("train_model", "running", start="2026-12-05T10:00:00+00:00")),
        ("anomaly_detector_training", task("validate_data", "running", start="2026-12-05T10:01:58+00:00")),
    ]
    assert running_line(running, now) == (
        "running: financial_ner_training.train_model (2 min 05 s), anomaly_detector_training.validate_data (7 s)"
    )
