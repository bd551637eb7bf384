"""The credit risk DAG run end to end by Airflow with launcher `local`, against a real MLflow store."""

import getpass
import os
import subprocess
from urllib.parse import quote

import pandas as pd
import pytest
from mlflow import MlflowClient

from embedded_state import PLATFORM
from nivesh_platform.embedded import migrate_metadata_db, run_dag
from nivesh_platform.state import EmbeddedState
from quick_credit import QUICK_CREDIT_CONF
from scoring import ANSWERS, answers_of_the_scoring_server

pytestmark = pytest.mark.slow

DAG_ID = "credit_risk_training"


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    state = EmbeddedState(tmp_path_factory.mktemp("embedded"))
    state.prepare()
    environment = state.environment(dict(os.environ))
    migrate_metadata_db(state, environment)
    return state, environment


@pytest.fixture(scope="module")
def loans_conf(embedded, credit_data):
    """Another data contract, given as DAG params: target `outcome`, positive label `charged_off`. The file is
    under the data root (the Variable nivesh_data_root): steps read nothing outside it."""
    state, _ = embedded
    data = state.data_dir / "loans.parquet"
    table = pd.read_csv(credit_data).rename(columns={"default": "outcome"})
    table["outcome"] = table["outcome"].map({0: "repaid", 1: "charged_off"})
    table.to_parquet(data)
    return {"data_path": str(data), "target": "outcome", "positive_label": "charged_off", **QUICK_CREDIT_CONF}


def test_dag_run_leaves_a_production_version(embedded, loans_conf):
    state, environment = embedded
    conf = loans_conf
    outcome = run_dag(state, DAG_ID, environment, conf)
    log = outcome.log_file.read_text()
    assert outcome.succeeded, log[-5000:]
    client = MlflowClient(state.tracking_uri, state.tracking_uri)
    production = client.get_model_version_by_alias("credit_risk_scorer", "production")
    run = client.get_run(production.run_id)
    assert run.data.tags["nivesh.gate.evaluate"] == run.data.tags["nivesh.gate.fairness"] == "passed"
    assert (run.data.params["target"], run.data.params["positive_label"]) == ("outcome", "charged_off")
    assert run.data.params["protected_attribute"] == "age"
    # the run leads back to its Airflow run: named after it, tagged with the task that trained it
    airflow_run = run.data.tags["nivesh.airflow.run_id"]
    assert run.info.run_name == f"credit_risk_scorer_{airflow_run}" and airflow_run.startswith("manual__")
    assert run.data.tags["nivesh.airflow.dag_id"] == DAG_ID and run.data.tags["nivesh.airflow.task_id"] == "train_model"
    assert run.data.tags["nivesh.airflow.try_number"] == "1"
    # where its code came from: the pod's image (not run: launcher local), the checkout's revision, the package
    assert run.data.tags["nivesh.image"] == "nivesh/credit-risk:0.1.0" and run.data.tags["nivesh.launcher"] == "local"
    assert run.data.tags["nivesh.source_revision"] != "unknown" and "nivesh.image_digest" not in run.data.tags
    assert run.data.tags["nivesh.package"].startswith("nivesh-credit-risk ")
    # and the version leads back to the Airflow run (make ui serves this state dir's runs on 127.0.0.1:8080)
    assert production.tags["nivesh.airflow.run_id"] == airflow_run
    assert production.description.endswith(f"/dags/{DAG_ID}/runs/{quote(airflow_run, safe='')})")
    assert "credit_risk_scorer: promoted v1" in log
    # a fresh process of its image loaded production and answered its input example as its signature says
    assert "loads and answers in its image (smoke test)" in log
    assert production.tags["nivesh.smoke_test"] == "passed"
    assert "launcher local: pod credit-risk-scorer-train-model" in log


def test_the_production_model_answers_raw_applications_through_the_scoring_server(embedded, loans_conf, tmp_path):
    state, _ = embedded
    applications = pd.read_parquet(loans_conf["data_path"]).drop(columns=["outcome"]).head(3)
    body = {"dataframe_split": applications.to_dict(orient="split", index=False)}
    predictions = answers_of_the_scoring_server(state.tracking_uri, "credit_risk_scorer", body, tmp_path)
    assert len(predictions) == 3 and set(predictions[0]) == ANSWERS["credit_risk_scorer"]
    assert {prediction["decision"] for prediction in predictions} <= {"approve", "refuse"}


def test_unchanged_data_skips_training_and_force_trains(embedded, loans_conf):
    state, environment = embedded
    client = MlflowClient(state.tracking_uri, state.tracking_uri)
    skipped = run_dag(state, DAG_ID, environment, loans_conf)
    log = skipped.log_file.read_text()
    assert skipped.succeeded, log[-5000:]
    assert "credit_risk_scorer: skipped: no drift (production v1 kept" in log
    assert "launcher local: pod credit-risk-scorer-train-model" not in log
    assert len(client.search_model_versions("name='credit_risk_scorer'")) == 1

    forced = run_dag(state, DAG_ID, environment, loans_conf | {"force": True})
    assert forced.succeeded and "credit_risk_scorer: promoted v2" in forced.log_file.read_text()
    assert client.get_model_version_by_alias("credit_risk_scorer", "production").version == 2


def test_gate_failure_fails_the_run_without_retries_and_keeps_production(embedded, loans_conf):
    state, environment = embedded
    client = MlflowClient(state.tracking_uri, state.tracking_uri)
    before = client.get_model_version_by_alias("credit_risk_scorer", "production").version
    conf = loans_conf | {"min_accuracy": 0.999, "force": True}
    outcome = run_dag(state, DAG_ID, environment, conf)
    log = outcome.log_file.read_text()
    assert not outcome.succeeded
    assert "exited 3 (quality gate not passed)" in log
    assert f"credit_risk_scorer: kept v{before} because a gate failed at evaluate_model: gate evaluate:" in log
    assert "up_for_retry" not in log.lower()
    notifications = state.notification_file.read_text()
    assert "[nivesh] credit_risk_training.evaluate_model failed" in notifications
    assert f"credit_risk_scorer: kept v{before} because a gate failed at evaluate_model" in notifications
    assert len(client.search_model_versions("name='credit_risk_scorer'")) == 2
    assert client.get_model_version_by_alias("credit_risk_scorer", "production").version == before


def test_data_outside_the_data_root_is_refused_at_validate_data(embedded, credit_data):
    state, environment = embedded
    outcome = run_dag(state, DAG_ID, environment, {"data_path": str(credit_data), **QUICK_CREDIT_CONF})
    log = outcome.log_file.read_text()
    assert not outcome.succeeded
    assert f"credit_risk_scorer: failed at step validate_data: {credit_data}: outside the data root" in log


def test_make_rollback_runs_the_rollback_dag_and_says_who_rolled_back_what(embedded):
    state, _ = embedded
    client = MlflowClient(state.tracking_uri, state.tracking_uri)
    assert client.get_model_version_by_alias("credit_risk_scorer", "production").version == 2
    rollback = [PLATFORM, "rollback", "credit_risk_scorer", "--state-dir", str(state.root)]

    done = subprocess.run([*rollback, "--reason", "v2 refuses too many"], capture_output=True, text=True)

    assert done.returncode == 0, done.stderr[-3000:]
    said = f"credit_risk_scorer: production rolled back from v2 to v1 by {getpass.getuser()} (command line)"
    assert f"{said} (reason: v2 refuses too many)" in done.stdout
    assert said in state.notification_file.read_text()
    assert client.get_model_version_by_alias("credit_risk_scorer", "production").version == 1
    assert client.get_model_version("credit_risk_scorer", "2").tags["nivesh.rolled_back"] == "true"

    refused = subprocess.run(rollback, capture_output=True, text=True)
    assert refused.returncode == 1
    assert "rollback requested by" in refused.stdout and "failed, production unchanged:" in refused.stdout
    assert "no 'previous' version to roll back to; production stays v1" in refused.stdout
    assert client.get_model_version_by_alias("credit_risk_scorer", "production").version == 1
