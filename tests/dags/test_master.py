"""The master pipeline's shape and its summary message."""

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator

from nivesh_contract.catalog import MASTER, MODELS
from nivesh_pipelines.outcome import ModelReport, describe_master_run, describe_outcome
from nivesh_platform.state import DAGS_FOLDER


@pytest.fixture(scope="module")
def master():
    return DagBag(str(DAGS_FOLDER)).dags[MASTER.dag_id]


def test_schedule_and_params(master):
    assert master.schedule == "0 1 * * 1" and not master.catchup
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
    failure = {"error": "stale data, older than 30 days: credit_risk_scorer (/data/a.csv) is 45.0 days old"}
    summary = describe_master_run("r", [ModelReport("credit_risk_scorer", None, None)], failure, None)
    assert "45.0 days old" in summary and "credit_risk_scorer: not run (stale data)" in summary
    assert "drift detection did not finish" in summary


STEPS = ["validate_data", "check_drift", "train_model", "evaluate_model", "register_model", "deploy_to_production"]


def test_a_failed_gate_keeps_production_and_says_which():
    results = {"validate_data": {}, "check_drift": {"retrain": True, "production_version": 3}, "train_model": {}}
    failures = {"evaluate_model": {"status": "gate_failed", "error": "gate evaluation: recall 0.41 not >= 0.6"}}
    outcome = describe_outcome("anomaly_detector", STEPS, results, failures)
    assert outcome == (
        "anomaly_detector: kept v3 because a gate failed at evaluate_model: gate evaluation: recall 0.41 not >= 0.6"
    )


def test_bad_input_names_the_step_and_the_error():
    failures = {"validate_data": {"status": "bad_input", "error": "applications.csv: column default missing"}}
    outcome = describe_outcome("credit_risk_scorer", STEPS, {}, failures)
    assert outcome == "credit_risk_scorer: failed at step validate_data: applications.csv: column default missing"
