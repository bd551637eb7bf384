"""The master pipeline's shape and its summary message."""

import pytest
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator

import dag_files
from nivesh_contract.catalog import MASTER, MODELS
from nivesh_pipelines.outcome import ModelReport, describe_master_run, describe_outcome


@pytest.fixture(scope="module")
def master():
    return dag_files.dagbag().dags[MASTER.dag_id]


def test_schedule_and_params(master):
    assert (master.timetable.expression, str(master.timetable.timezone)) == ("0 1 * * 1", "UTC")
    assert (
        not master.catchup and master.start_date is None
    )  # the first run: the next Monday (assets.cron_from_next_slot)
    assert master.params["max_data_age_days"] == 30 and master.params["force"] is False


def test_freshness_then_every_model_in_parallel_then_drift_then_summary(master):
    triggers = [task for task in master.tasks if isinstance(task, TriggerDagRunOperator)]
    assert {(task.task_id, task.trigger_dag_id) for task in triggers} == {
        (model.trigger_task_id, model.dag_id) for model in MODELS
    }
    assert {"trigger_credit_risk", "trigger_anomaly_detector", "trigger_financial_ner"} <= set(master.task_ids)
    for trigger in triggers:
        assert trigger.wait_for_completion and trigger.deferrable and trigger.retries == 0
        assert trigger.upstream_task_ids == {"check_data_freshness"}
        # triggers never depend on each other: one model's failure cannot stop another
        assert not trigger.downstream_task_ids & {task.task_id for task in triggers}
    drift = master.get_task("run_drift_detection")
    assert drift.upstream_task_ids == {task.task_id for task in triggers} and drift.trigger_rule == "all_done"
    assert master.get_task("send_summary").trigger_rule == "all_done"
    assert master.get_task("fail_run_if_a_step_failed").trigger_rule == "one_failed"


def test_conf_passes_force_as_a_boolean(master):
    trigger = master.get_task("trigger_credit_risk")
    rendered = trigger.render_template(trigger.conf, {"params": {"force": True}})
    assert rendered == '{"force": true}'


def test_summary_names_each_outcome_and_the_drift_measured_before_training():
    drifted = {"model": "anomaly_detector", "retrain": True, "reason": "drift detected", "production_version": 1}
    drifted["drift_share"] = 0.625
    first_time = {"model": "intent_classifier", "retrain": True, "reason": "no production model"}
    reports = [
        ModelReport("credit_risk_scorer", "r1", {"outcome": "credit_risk_scorer: failed at step validate_data: x"}),
        ModelReport(
            "anomaly_detector", "r2", {"outcome": "anomaly_detector: promoted v2"}, drifted | {"drift_share": 0.625}
        ),
        ModelReport("intent_classifier", "r3", {"outcome": "intent_classifier: promoted v1"}, first_time),
        ModelReport("spending_predictor", None, None),
    ]
    # the master's own drift report ran after retraining, against the versions just trained: about 0
    after = {"models": [{"model": "anomaly_detector", "drift_share": 0.0, "retrain": False}]}
    summary = describe_master_run("manual__1", reports, None, after).splitlines()
    assert summary[1:] == [
        "- credit_risk_scorer: failed at step validate_data: x; drift share before training n/a",
        "- anomaly_detector: promoted v2; drift share before training 0.62 against production v1 (drift detected)",
        "- intent_classifier: promoted v1; no drift measured before training (no production model)",
        "- spending_predictor: not run; drift share before training n/a",
    ]


def test_a_skipped_model_states_its_drift_share_once():
    skipped = "intent_classifier: skipped: no drift (production v1 kept; drift share 0.00, data unchanged)"
    drift = {"models": [{"model": "intent_classifier", "drift_share": 0.0, "retrain": False}]}
    summary = describe_master_run("r", [ModelReport("intent_classifier", "r1", {"outcome": skipped})], None, drift)
    assert summary.splitlines()[1] == f"- {skipped}"


def test_summary_of_a_run_stopped_by_stale_data():
    stale = "credit_risk_scorer_training_data (/data/a.csv): last modified 45.0 days ago, older than 30"
    failure = {"error": f"stale data: {stale}"}
    summary = describe_master_run("r", [ModelReport("credit_risk_scorer", None, None)], failure, None)
    assert stale in summary and "credit_risk_scorer: not run (stale data)" in summary
    assert "drift detection did not finish" in summary


STEPS = [
    "validate_data",
    "check_drift",
    "train_model",
    "evaluate_model",
    "register_model",
    "deploy_to_production",
    "smoke_test_production",
]


def test_a_failed_gate_keeps_production_and_says_which():
    results = {"validate_data": {}, "check_drift": {"retrain": True, "production_version": 3}, "train_model": {}}
    failures = {"evaluate_model": {"status": "gate_failed", "error": "gate evaluation: recall 0.41 not >= 0.6"}}
    outcome = describe_outcome("anomaly_detector", STEPS, results, failures)
    assert (outcome.kind, outcome.step) == ("gate_failed", "evaluate_model")  # what Prometheus is told
    assert outcome.line == (
        "anomaly_detector: kept v3 because a gate failed at evaluate_model: gate evaluation: recall 0.41 not >= 0.6"
    )


def test_bad_input_names_the_step_and_the_error():
    failures = {"validate_data": {"status": "bad_input", "error": "applications.csv: column default missing"}}
    outcome = describe_outcome("credit_risk_scorer", STEPS, {}, failures)
    assert (outcome.kind, outcome.step) == ("failed", "validate_data")
    assert outcome.line == "credit_risk_scorer: failed at step validate_data: applications.csv: column default missing"


FINISHED = {
    "validate_data": {},
    "check_drift": {"retrain": True, "production_version": 3},
    "train_model": {},
    "evaluate_model": {"metrics": {"test_roc_auc": 0.91}},
    "register_model": {"version": 4},
}
ANSWERED = {"responded_by_user": {"id": "7", "name": "priya"}, "params_input": {}}


def test_a_rejected_candidate_keeps_production_and_says_who_rejected_it():
    approval = ANSWERED | {"chosen_options": ["Reject"]}
    outcome = describe_outcome("credit_risk_scorer", STEPS, FINISHED, approval=approval)
    assert (outcome.kind, outcome.step) == ("rejected", "approve_promotion")
    assert outcome.line == "credit_risk_scorer: kept v3: candidate v4 rejected by priya at approve_promotion"
    timed_out = {"chosen_options": ["Reject"], "responded_by_user": None}
    timed_out_outcome = describe_outcome("credit_risk_scorer", STEPS, FINISHED, approval=timed_out)
    assert "rejected by nobody in time" in timed_out_outcome.line


def test_an_approved_and_smoke_tested_promotion_says_both():
    results = FINISHED | {
        "deploy_to_production": {"promoted": True, "production_version": 4},
        "smoke_test_production": {"tested": True},
    }
    outcome = describe_outcome(
        "credit_risk_scorer", STEPS, results, approval=ANSWERED | {"chosen_options": ["Approve"]}
    )
    assert outcome.kind == "promoted"
    assert outcome.line == (
        "credit_risk_scorer: promoted v4 (roc_auc 0.91), approved by priya; loads and answers in its image (smoke test)"
    )


def test_a_version_that_fails_its_smoke_test_is_reported_rolled_back():
    error = (
        "smoke test of credit_risk_scorer v4 failed: cannot load ...: ModuleNotFoundError; production rolled back to v3"
    )
    results = FINISHED | {"deploy_to_production": {"promoted": True, "production_version": 4}}
    failures = {"smoke_test_production": {"status": "gate_failed", "error": error}}
    outcome = describe_outcome("credit_risk_scorer", STEPS, results, failures).line
    assert outcome == f"credit_risk_scorer: kept v3 because a gate failed at smoke_test_production: {error}"


def test_a_staged_candidate_says_how_it_meets_live_requests():
    reason = (
        "not worse than production; staged: v4 answers 10% of users (canary) beside production until it is "
        "judged on live requests"
    )
    deployed = {"promoted": False, "production_version": 3, "staging_version": 4, "candidate_version": 4}
    results = FINISHED | {"deploy_to_production": deployed | {"reason": reason}, "smoke_test_production": {}}
    outcome = describe_outcome("anomaly_detector", STEPS, results)
    assert (outcome.kind, outcome.step) == ("staged", "deploy_to_production")
    assert outcome.line == f"anomaly_detector: staged v4 (roc_auc 0.91): {reason}"
