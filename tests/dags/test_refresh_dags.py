"""The data-refresh DAGs as parsed: one per declared source, its steps and trigger rules, its asset, paused at first."""

import pytest
from airflow.sdk import Asset, TriggerRule

import dag_files
from nivesh_contract.catalog import MODELS
from nivesh_pipelines.operator import TrainingStepOperator

SOURCED = [model for model in MODELS if model.source]
FIVE = {"credit_risk_scorer", "anomaly_detector", "intent_classifier", "financial_ner", "spending_predictor"}


def test_the_five_models_refresh_from_the_app_s_database_and_a_model_without_a_source_has_no_refresh_dag():
    assert {model.name for model in SOURCED} >= FIVE  # a model `make new-model` adds declares none at first
    refreshes = {dag_id for dag_id in dag_files.dagbag().dag_ids if dag_id.endswith("_data_refresh")}
    assert refreshes == {model.refresh_dag_id for model in SOURCED}


@pytest.mark.parametrize("model", SOURCED, ids=lambda model: model.name)
def test_extract_validate_then_publish_or_quarantine(model):
    dag = dag_files.dagbag().dags[model.refresh_dag_id]
    assert dag.timetable.expression == model.source.schedule and str(dag.timetable.timezone) == "UTC"
    assert dag.is_paused_upon_creation and not dag.catchup and dag.max_active_runs == 1
    extract, validate = dag.get_task("extract_snapshot"), dag.get_task("validate_snapshot")
    publish, quarantine = dag.get_task("publish_snapshot"), dag.get_task("quarantine_snapshot")
    assert extract.downstream_task_ids == {"validate_snapshot"}
    assert validate.downstream_task_ids == {"publish_snapshot", "quarantine_snapshot"}
    assert (publish.trigger_rule, quarantine.trigger_rule) == (TriggerRule.ALL_SUCCESS, TriggerRule.ONE_FAILED)
    # the model's own image judges the extract, as validate_data does in its training DAG
    assert isinstance(validate, TrainingStepOperator) and validate.image == model.image.ref
    assert validate.arguments[:3] == ["validate", "--data", "{{ ti.xcom_pull(task_ids='extract_snapshot')['path'] }}"]
    assert validate.labels["nivesh.ai/model"] == model.name and not validate.on_failure_callback
    # announcing it is an event of the asset the training DAG is scheduled on
    assert publish.outlets == [Asset(name=f"{model.name}_training_data", uri=f"x-nivesh://training-data/{model.name}")]
    assert quarantine.retries == 0 and extract.retries == 2


def test_runs_that_name_no_data_take_the_newest_snapshot_before_the_declared_file():
    training = dag_files.dagbag().dags["anomaly_detector_training"]
    (data,) = [arg for arg in training.get_task("train_model").arguments if "data_path" in arg]
    assert (
        data.index("published_data_path(") < data.index("newest_snapshot(") < data.index("'anomaly/transactions.csv'")
    )
    master = dag_files.dagbag().dags["master_training_pipeline"]
    assert "newest_snapshot" in master.user_defined_macros
