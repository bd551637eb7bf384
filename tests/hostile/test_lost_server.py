"""A step whose MLflow server dies under it: one line, exit 1, one trial later in a search; its retry closes the
run the lost try left RUNNING."""

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from mlflow import MlflowClient

from mlflow_server import start_mlflow_server
from steps import BIN, run_step, step_environment

pytestmark = pytest.mark.slow


@pytest.fixture
def server(tmp_path):
    """An MLflow server of this test's own, to kill."""
    url, process = start_mlflow_server(tmp_path)
    yield url, process
    process.stop()


def tuning_under_way(client: MlflowClient) -> bool:
    """The search has ended a trial (each logs its score): the server is lost in the middle of the search."""
    experiment = client.get_experiment_by_name("nivesh/credit_risk_scorer")
    runs = client.search_runs([experiment.experiment_id]) if experiment else []
    return bool(runs and "tuning_trial_validation_roc_auc" in runs[0].data.metrics)


def test_a_step_that_loses_its_server_says_so_in_one_line_and_its_retry_closes_the_run(server, tmp_path):
    url, process = server
    data = tmp_path / "applications.parquet"
    task = {"NIVESH_AIRFLOW_DAG_ID": "credit_risk_training", "NIVESH_AIRFLOW_RUN_ID": "scheduled__2026-12-07'"}
    task["NIVESH_AIRFLOW_TASK_ID"] = "train_model"
    env = step_environment(tmp_path / "step") | {"MLFLOW_TRACKING_URI": url} | task
    assert run_step("nivesh-credit-risk", "sample-data", "--out", data, "--rows", 50_000, env=env).exit_code == 0
    train = subprocess.Popen(
        [str(BIN / "nivesh-credit-risk"), "train", "--data", str(data)],
        env=env | {"NIVESH_AIRFLOW_TRY_NUMBER": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    client = MlflowClient(url)
    while not tuning_under_way(client):
        assert train.poll() is None, "train finished before the search could be caught"
        time.sleep(0.2)
    os.killpg(process.popen.pid, signal.SIGKILL)  # the server dies, as a node that goes away
    killed = time.monotonic()
    stdout, stderr = train.communicate(timeout=180)
    # One trial and the bounded retries (before each trial logged its score, the whole search ran first: 76 s).
    assert train.returncode == 1 and time.monotonic() - killed < 60, stderr[-3000:]
    assert "Traceback" not in stderr, stderr[-3000:]
    (line,) = [line for line in stderr.splitlines() if "ERROR" in line]
    assert "MLflow tracking server stopped answering" in line
    assert "stopped answering" in stdout.splitlines()[-1]
    assert Path(env["NIVESH_XCOM_DIR"], "return.json").exists()

    # Airflow retries the task once the server is back: the lost try's run, left RUNNING, is marked FAILED.
    url, restarted = start_mlflow_server(tmp_path)  # the same store
    try:
        retry_env = env | {"MLFLOW_TRACKING_URI": url, "NIVESH_AIRFLOW_TRY_NUMBER": "2"}
        retried = run_step("nivesh-credit-risk", "train", "--data", data, "--tune-trials", 0, env=retry_env)
        assert retried.exit_code == 0, retried.stderr[-3000:]
        client = MlflowClient(url)
        runs = client.search_runs([client.get_experiment_by_name("nivesh/credit_risk_scorer").experiment_id])
        assert {run.data.tags["nivesh.airflow.try_number"]: run.info.status for run in runs} == {
            "1": "FAILED",
            "2": "FINISHED",
        }
        assert "of try 1 was left running (its tracking server was lost): marked FAILED" in retried.stderr
    finally:
        restarted.stop()
