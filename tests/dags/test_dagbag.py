"""The DAG files: import cleanly, Airflow 3 API only, the seed's default args and steps, light to parse."""

import importlib
import itertools
import re
import subprocess
import sys
from datetime import timedelta

import pytest
import typer
from airflow.dag_processing.dagbag import DagBag

from nivesh_pipelines.catalog import DRIFT_REPORT, FRESHNESS_CHECK, MASTER_DAG_ID, MASTER_THRESHOLDS, MODELS
from nivesh_pipelines.operator import TrainingStepOperator
from nivesh_platform.state import DAGS_FOLDER

AIRFLOW_2_ONLY = re.compile(
    r"airflow\.operators\.|airflow\.models\.(dag|baseoperator)|from airflow import DAG|schedule_interval"
    r"|airflow\.utils\.(dates|trigger_rule)|provide_context|email_on_failure"
)


@pytest.fixture(scope="module")
def dagbag():
    return DagBag(str(DAGS_FOLDER))


def test_no_import_errors_and_every_model_has_its_dag(dagbag):
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == {spec.dag_id for spec in MODELS} | {MASTER_DAG_ID}


@pytest.mark.parametrize("spec", MODELS, ids=lambda spec: spec.dag_id)
def test_schedule_tags_and_default_args(dagbag, spec):
    dag = dagbag.dags[spec.dag_id]
    assert dag.schedule == spec.schedule
    assert {"nivesh", "training", spec.registered_name} <= set(dag.tags)
    assert not dag.catchup
    for task in dag.tasks:
        assert task.owner == "ml-team"
        assert task.execution_timeout == timedelta(hours=2)
        if task.task_id != "fail_run_if_a_step_failed":
            assert task.retries >= 2 and task.retry_delay == timedelta(minutes=5)
            assert task.on_failure_callback, f"{task.task_id} has no failure alert"


def test_credit_risk_steps_follow_the_seed(dagbag):
    dag = dagbag.dags["credit_risk_training"]
    order = [
        "validate_data",
        "validate_features",
        "check_drift",
        "train_or_skip",
        "train_model",
        "validate_fairness",
        "evaluate_model",
        "register_model",
        "deploy_to_production",
        "send_notification",
    ]
    for upstream, downstream in itertools.pairwise(order):
        assert downstream in dag.get_task(upstream).downstream_task_ids
    assert dag.get_task("send_notification").trigger_rule == "all_done"


def test_anomaly_steps(dagbag):
    dag = dagbag.dags["anomaly_detector_training"]
    assert [task.task_id for task in dag.topological_sort()][:7] == [
        "validate_data",
        "check_drift",
        "train_or_skip",
        "train_model",
        "evaluate_model",
        "register_model",
        "deploy_to_production",
    ]


def test_every_pipeline_step_is_a_training_step_pod(dagbag):
    for spec in MODELS:
        dag = dagbag.dags[spec.dag_id]
        for step in spec.steps:
            assert isinstance(dag.get_task(step.task_id), TrainingStepOperator)
        assert dag.get_task("check_drift").image == "nivesh/drift:0.1.0"


def test_sources_use_airflow_3_api_only():
    for source in DAGS_FOLDER.rglob("*.py"):
        assert not AIRFLOW_2_ONLY.search(source.read_text()), f"{source} uses an Airflow 2 API"


@pytest.mark.parametrize("dag_file", sorted(DAGS_FOLDER.glob("*.py")), ids=lambda path: path.name)
def test_dag_files_import_nothing_heavy(dag_file):
    probe = (
        "import runpy, sys; runpy.run_path(sys.argv[1]); "
        "heavy = {'pandas', 'mlflow', 'torch', 'xgboost', 'sklearn', 'spacy', 'prophet'} & set(sys.modules); "
        "sys.exit(','.join(sorted(heavy)) or None)"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe, str(dag_file)],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(DAGS_FOLDER), "AIRFLOW_HOME": "/tmp/nivesh-tests-airflow"},
    )
    assert completed.returncode == 0, completed.stderr[-2000:]


def _cli_defaults(app: typer.Typer, subcommand: str) -> dict[str, object]:
    command = typer.main.get_command(app).commands[subcommand]
    return {param.name: param.default for param in command.params}


@pytest.mark.parametrize("spec", MODELS, ids=lambda spec: spec.dag_id)
def test_catalog_params_match_the_image_defaults(spec):
    """One catalog: the DAG params' defaults are the values the images apply when run by hand."""
    apps = {
        "nivesh-credit-risk": "nivesh_credit_risk.cli",
        "nivesh-anomaly": "nivesh_anomaly.cli",
        "nivesh-drift": "nivesh_drift.cli",
        "nivesh-intent": "nivesh_intent.cli",
        "nivesh-spending": "nivesh_spending.cli",
        "nivesh-ner": "nivesh_ner.cli",
    }
    params = spec.thresholds | spec.options
    passed = set()
    for step in spec.steps:
        app = importlib.import_module(apps[spec.image_of(step).console_script]).app
        defaults = _cli_defaults(app, step.subcommand)
        for name, default in params.items():
            if f"{{{{ params.{name} }}}}" in step.arguments:
                assert defaults[name] == default, f"{step.subcommand} --{name.replace('_', '-')}"
                passed.add(name)
    assert passed == set(params), "every param reaches a step"


def test_master_params_match_the_drift_image_defaults():
    from nivesh_drift.cli import app

    for step in (FRESHNESS_CHECK, DRIFT_REPORT):
        defaults = _cli_defaults(app, step.subcommand)
        for name, default in MASTER_THRESHOLDS.items():
            if f"{{{{ params.{name} }}}}" in step.arguments:
                assert defaults[name] == default, f"{step.subcommand} --{name.replace('_', '-')}"
