"""Each staged model's rollout DAG: hourly from its next slot, its own image judging staging with the prediction
logs mounted, and a notification for a decision only."""

import dataclasses

import pytest

import dag_files
from nivesh_contract.catalog import MODELS, model_named
from nivesh_contract.rollout import EVALUATION_SCHEDULE, Decision
from nivesh_pipelines.operator import TrainingStepOperator
from nivesh_pipelines.pod_spec import PREDICTIONS_CLAIM
from nivesh_pipelines.rollout import describe_evaluation

ANOMALY = model_named("anomaly_detector")


@pytest.fixture(scope="module")
def dag():
    return dag_files.dagbag().dags[ANOMALY.rollout_dag_id]


def test_only_staged_models_have_one():
    dag_ids = set(dag_files.dagbag().dag_ids)
    for model in MODELS:
        assert (model.rollout_dag_id in dag_ids) == model.rollout.staged, model.name


def test_it_runs_hourly_from_its_next_slot_one_run_at_a_time(dag):
    assert (dag.timetable.expression, str(dag.timetable.timezone)) == (EVALUATION_SCHEDULE, "UTC")
    assert dag.start_date is None and not dag.catchup and dag.max_active_runs == 1
    assert dag.params["approve"] is False  # the hourly runs never approve


def test_the_models_own_image_judges_staging_on_the_mounted_prediction_logs(dag):
    evaluation = dag.get_task("evaluate_rollout")
    assert isinstance(evaluation, TrainingStepOperator) and evaluation.image == ANOMALY.image.ref
    assert evaluation.arguments == [
        "rollout-evaluate",
        "--log-dir",
        "{{ var.value.get('nivesh_predictions_dir', '/predictions') }}",
        "{{ '--approve' if params.approve else '--no-approve' }}",
    ]
    assert evaluation.retries == 0 and dag.get_task("send_notification").upstream_task_ids == {"evaluate_rollout"}
    pod = evaluation.build_pod_request_obj(dry_run=True)
    claims = {v.name: v.persistent_volume_claim for v in pod.spec.volumes if v.persistent_volume_claim}
    assert claims["predictions"].claim_name == PREDICTIONS_CLAIM and claims["predictions"].read_only
    (base,) = [c for c in pod.spec.containers if c.name == "base"]
    assert {(m.mount_path, m.read_only) for m in base.volume_mounts} >= {("/predictions", True), ("/data", True)}


def judged(decision: Decision, reason: str) -> dict:
    return {
        "model": ANOMALY.name,
        "strategy": "canary",
        "decision": decision,
        "reason": reason,
        "production": {"version": 1, "requests": 1000, "error_rate": 0.0, "latency_p95_ms": 4.1},
        "staging": {"version": 2, "requests": 200, "error_rate": 0.05, "latency_p95_ms": 4.3},
        "prediction_shift": 0.03,
    }


@pytest.mark.parametrize("decision", [Decision.WAITING, Decision.NOTHING_STAGED])
def test_an_hour_with_no_decision_is_quiet(decision):
    assert describe_evaluation(ANOMALY, judged(decision, "not due yet")) is None


def test_a_decision_says_why_with_both_versions_figures():
    text = describe_evaluation(ANOMALY, judged(Decision.ROLLED_BACK, "v2 rolled back: error rate 5.00%"))
    assert text.startswith("anomaly_detector (canary): **Live comparison (canary)**: v2 rolled back: error rate 5.00%.")
    assert "| | production v1 | staging v2 |" in text and "| error rate | 0.0 | 0.05 |" in text
    assert "prediction shift: 0.03" in text and "approve" not in text


def test_one_awaiting_approval_says_how_to_approve():
    model = dataclasses.replace(ANOMALY, approval_on_cluster=True)
    text = describe_evaluation(model, judged(Decision.AWAITING_APPROVAL, "v2 passed on live requests"))
    assert "trigger anomaly_detector_rollout with `approve` ticked" in text
    assert "make rollout-evaluate MODEL=anomaly_detector APPROVE=1" in text


def test_reported_outcomes_are_rows_and_too_few_to_judge_show_as_a_dash():
    outcomes = judged(Decision.PROMOTED, "v2 promoted")
    outcomes["production"] |= {"outcomes": 40, "outcome_accuracy": 0.9}
    outcomes["staging"] |= {"outcomes": 12, "outcome_accuracy": None}
    text = describe_evaluation(ANOMALY, outcomes)
    assert "| outcomes reported | 40 | 12 |\n| outcome accuracy | 0.9 | - |" in text
    assert "outcome" not in describe_evaluation(ANOMALY, judged(Decision.PROMOTED, "v2 promoted"))
