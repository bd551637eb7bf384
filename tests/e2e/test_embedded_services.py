"""`make run` and `make ui` for real: `airflow standalone` on a state dir, DAGs triggered through the REST API."""

import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import time

import pandas as pd
import pytest
from mlflow import MlflowClient

from embedded_state import PLATFORM, start_ui, state_with_data, wait_for_line
from nivesh_contract.catalog import model_named
from nivesh_platform.services import AirflowApi
from scoring import ANSWERS, REQUESTS, answers_of_the_scoring_server

pytestmark = pytest.mark.slow


def run_platform(*args: str, timeout_s: float) -> subprocess.CompletedProcess:
    """`nivesh-platform ...`; on timeout it gets SIGTERM, so that it stops the Airflow it started."""
    process = subprocess.Popen([PLATFORM, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.terminate()
        stdout, stderr = process.communicate(timeout=120)
        pytest.fail(f"nivesh-platform {' '.join(args)}: no result after {timeout_s}s\n{stderr[-3000:]}")
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


@pytest.mark.timeout(1500)
def test_master_pipeline_with_one_model_failing_still_promotes_the_others(tmp_path, sample_data, credit_data):
    without_target = tmp_path / "applications.csv"
    pd.read_csv(credit_data).drop(columns=["default"]).to_csv(without_target, index=False)
    state = state_with_data(tmp_path / "state", sample_data, credit_risk_scorer=without_target)

    completed = run_platform("run", "--state-dir", str(state.root), timeout_s=1200)

    assert completed.returncode == 1, completed.stderr[-3000:]
    # progress while it runs: each model's steps as they finish, with seconds; then the slowest model
    assert re.search(r"anomaly_detector_training\.train_model: success \(\d+\.\d s\)", completed.stderr)
    assert "credit_risk_training.validate_data: failed" in completed.stderr
    assert "slowest model DAG: " in completed.stderr
    summary = completed.stdout[completed.stdout.index("Nivesh training summary") :].splitlines()
    assert "master_training_pipeline run" in completed.stdout and "trigger_credit_risk" in completed.stdout
    credit_line = next(line for line in summary if line.startswith("- credit_risk_scorer"))
    assert "failed at step validate_data" in credit_line and "default" in credit_line
    anomaly_line = next(line for line in summary if line.startswith("- anomaly_detector"))
    assert "promoted v1" in anomaly_line and "no drift measured before training (no production model)" in anomaly_line

    for model in ("financial_ner", "spending_predictor"):
        assert "promoted v1" in next(line for line in summary if line.startswith(f"- {model}"))

    client = MlflowClient(state.tracking_uri)
    for model in ("anomaly_detector", "financial_ner", "spending_predictor"):
        assert int(client.get_model_version_by_alias(model, "production").version) == 1, model
    assert not client.search_registered_models("name = 'credit_risk_scorer'")
    for model in ("anomaly_detector", "financial_ner", "spending_predictor"):  # intent: its image test
        predictions = answers_of_the_scoring_server(state.tracking_uri, model, REQUESTS[model], tmp_path)
        assert predictions and set(predictions[0]) == ANSWERS[model], (model, predictions)
    notifications = state.notification_file.read_text()
    assert "credit_risk_training.validate_data failed" in notifications
    assert "Nivesh training summary" in notifications


def left_with_past_next_runs(state) -> None:
    """The state dir as a `make run` of last week leaves it: every DAG's stored next scheduled run is a past slot (a
    scheduler that starts before the DAGs are parsed again starts a run for it at once)."""
    environment = state.environment(dict(os.environ))
    for command in (["airflow", "db", "migrate"], ["airflow", "dags", "reserialize"]):
        subprocess.run(command, env=environment, check=True, capture_output=True)
    columns = ("next_dagrun", "next_dagrun_create_after", "next_dagrun_data_interval_start")
    columns += ("next_dagrun_data_interval_end",)
    with sqlite3.connect(state.airflow_home / "airflow.db") as db:
        for column in columns:
            a_week_earlier = f"strftime('%Y-%m-%d %H:%M:%f000', {column}, '-7 days')"
            db.execute(f"UPDATE dag SET {column} = {a_week_earlier} WHERE {column} IS NOT NULL")
        (past,) = db.execute("SELECT count(*) FROM dag WHERE next_dagrun_create_after < datetime('now')").fetchone()
    assert past == 6  # the five model DAGs and the master


def asset_triggered_run(airflow: AirflowApi, dag_id: str, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        runs = airflow.call("GET", f"/dags/{dag_id}/dagRuns", params={"run_type": "asset_triggered"}).json()
        if runs["dag_runs"]:
            (run,) = runs["dag_runs"]
            return run
        time.sleep(3)
    raise AssertionError(f"no asset-triggered run of {dag_id} after {timeout_s}s")


@pytest.mark.timeout(1500)
def test_make_ui_runs_a_dag_triggered_through_the_rest_api(tmp_path, sample_data):
    state = state_with_data(tmp_path / "state", sample_data)
    left_with_past_next_runs(state)
    output = tmp_path / "ui.out"
    ui, airflow_port, mlflow_port = start_ui(state, output)
    try:
        assert "login admin / admin" in output.read_text()

        airflow = AirflowApi(f"http://127.0.0.1:{airflow_port}")
        run_id = airflow.trigger("anomaly_detector_training")
        assert airflow.wait_for_run("anomaly_detector_training", run_id, timeout_s=600) == "success"

        mlflow = MlflowClient(f"http://127.0.0.1:{mlflow_port}")
        production = mlflow.get_model_version_by_alias("anomaly_detector", "production")
        assert int(production.version) == 1
        assert mlflow.get_run(production.run_id).data.metrics["test_recall"] > 0

        # New data published as an event of the model's data asset: its DAG runs on that file.
        published = state.data_dir / "anomaly" / "published.csv"
        shutil.copy(state.data_dir / model_named("anomaly_detector").data_file, published)
        command = [PLATFORM, "publish-data", "anomaly_detector", str(published), "--airflow-url", airflow.url]
        completed = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert completed.returncode == 0, completed.stderr[-3000:]
        said = completed.stdout.strip()
        assert said.startswith(f"published {published} as event ") and said.endswith(
            "of asset anomaly_detector_training_data; it starts anomaly_detector_training"
        )
        data_run = asset_triggered_run(airflow, "anomaly_detector_training", timeout_s=120)["dag_run_id"]
        assert airflow.wait_for_run("anomaly_detector_training", data_run, timeout_s=600) == "success"
        path = f"/dags/anomaly_detector_training/dagRuns/{data_run}/taskInstances/validate_data"
        assert str(published) in airflow.call("GET", path).json()["rendered_fields"]["arguments"]
        assert airflow.xcom("anomaly_detector_training", data_run, "validate_data")["path"] == str(published)

        # Schedules are on, yet no weekly run started, though each DAG's stored next run was past at start.
        scheduled = airflow.call("GET", "/dags/~/dagRuns", params={"run_type": "scheduled"}).json()
        assert scheduled["total_entries"] == 0, [run["dag_run_id"] for run in scheduled["dag_runs"]]
    finally:
        ui.send_signal(signal.SIGINT)
        exit_code = ui.wait(60)
    assert exit_code == 0 and "stopped Airflow and the MLflow UI" in output.read_text()
    for port in (airflow_port, mlflow_port):
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2)


@pytest.mark.timeout(900)
def test_ctrl_c_during_make_run_marks_what_it_interrupted_and_leaves_nothing_running(tmp_path, sample_data):
    state = state_with_data(tmp_path / "state", sample_data)
    output = tmp_path / "run.out"
    with open(output, "w") as sink:
        run = subprocess.Popen([PLATFORM, "run", "--state-dir", str(state.root)], stdout=sink, stderr=subprocess.STDOUT)
    try:
        wait_for_line(run, output, "check_data_freshness: success", timeout_s=600)
        time.sleep(10)  # the model DAGs triggered and running
    finally:
        run.send_signal(signal.SIGINT)
        exit_code = run.wait(180)
    said = output.read_text()
    assert exit_code == 130, said[-3000:]
    assert "nivesh-platform: interrupted; marked failed: master_training_pipeline run" in said
    assert "The next make run starts a new master run" in said and "Traceback" not in said
    with sqlite3.connect(state.airflow_home / "airflow.db") as db:
        states = {state for (state,) in db.execute("SELECT state FROM dag_run")}
    assert states and not states & {"running", "queued"}, states
