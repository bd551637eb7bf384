"""What a model pipeline's send_notification pushes (a real Pushgateway): the outcome and the step that decided it,
failed runs counted in a row and reset by a run that did not fail, a dead gateway only a warning."""

import logging
from datetime import UTC, datetime, timedelta

from gateway_metrics import pushed, value
from nivesh_pipelines.outcome import Outcome
from nivesh_pipelines.pipeline_metrics import push_pipeline_outcome

MODEL = "credit_risk_scorer"
FAILED = Outcome("failed", "credit_risk_scorer: failed at step validate_data: ...", "validate_data")
REFUSED = Outcome("gate_failed", "credit_risk_scorer: kept v3 because a gate failed at ...", "validate_fairness")
PROMOTED = Outcome("promoted", "credit_risk_scorer: promoted v4 ...", "deploy_to_production")


def in_a_row(url: str) -> float | None:
    return value(pushed(url), "nivesh_pipeline_failed_runs_in_a_row", model=MODEL)


def test_failed_runs_are_counted_in_a_row_and_a_run_that_did_not_fail_resets_the_count(pushgateway):
    started = datetime.now(UTC) - timedelta(minutes=7)
    push_pipeline_outcome(pushgateway, MODEL, FAILED, started)
    push_pipeline_outcome(pushgateway, MODEL, FAILED, started)
    figures = pushed(pushgateway)
    assert value(figures, "nivesh_pipeline_failed_runs_in_a_row", model=MODEL) == 2
    assert value(figures, "nivesh_pipeline_outcome", model=MODEL, outcome="failed", step="validate_data") == 1
    assert 7 * 60 <= value(figures, "nivesh_pipeline_duration_seconds", model=MODEL) < 8 * 60

    push_pipeline_outcome(pushgateway, MODEL, REFUSED, started)  # a gate doing its job is not a failed run
    figures = pushed(pushgateway)
    assert value(figures, "nivesh_pipeline_failed_runs_in_a_row", model=MODEL) == 0
    outcomes = [dict(labels)["outcome"] for (name, labels) in figures if name == "nivesh_pipeline_outcome"]
    assert outcomes == ["gate_failed"]  # replaced, not added
    push_pipeline_outcome(pushgateway, MODEL, FAILED, None)  # a run without a start time: no duration, counted
    assert in_a_row(pushgateway) == 1
    push_pipeline_outcome(pushgateway, "anomaly_detector", PROMOTED, started)  # another model's count is its own
    assert in_a_row(pushgateway) == 1


def test_a_dead_gateway_is_a_warning_not_a_failed_notification(caplog):
    with caplog.at_level(logging.WARNING):
        push_pipeline_outcome("http://ops:s3cret@127.0.0.1:9", MODEL, FAILED, None)
    (warning,) = [record.getMessage() for record in caplog.records]
    assert warning.startswith("pipeline metrics not pushed to 127.0.0.1:9: ") and "s3cret" not in warning


def test_no_gateway_pushes_nothing(pushgateway):
    push_pipeline_outcome("", MODEL, FAILED, None)
    assert pushed(pushgateway) == {}
