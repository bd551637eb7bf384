"""A step whose MLflow server dies under it: one line, exit 1, well within two minutes (bounded retries)."""

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


def training_run_started(client: MlflowClient) -> bool:
    experiment = client.get_experiment_by_name("nivesh/credit_risk_scorer")
    return bool(experiment and client.search_runs([experiment.experiment_id]))


def test_a_step_that_loses_its_server_says_so_in_one_line_within_two_minutes(server, tmp_path):
    url, process = server
    data = tmp_path / "applications.parquet"
    env = step_environment(tmp_path / "step") | {"MLFLOW_TRACKING_URI": url}
    assert run_step("nivesh-credit-risk", "sample-data", "--out", data, "--rows", 200_000, env=env).exit_code == 0
    train = subprocess.Popen(
        [str(BIN / "nivesh-credit-risk"), "train", "--data", str(data)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    client = MlflowClient(url)
    while not training_run_started(client):
        assert train.poll() is None, "train finished before its run could be caught"
        time.sleep(0.2)
    os.killpg(process.popen.pid, signal.SIGKILL)  # the server dies, as a node that goes away
    killed = time.monotonic()
    stdout, stderr = train.communicate(timeout=180)
    assert train.returncode == 1 and time.monotonic() - killed < 120, stderr[-3000:]
    assert "Traceback" not in stderr, stderr[-3000:]
    (line,) = [line for line in stderr.splitlines() if "ERROR" in line]
    assert "MLflow tracking server stopped answering" in line
    assert "stopped answering" in stdout.splitlines()[-1]
    assert Path(env["NIVESH_XCOM_DIR"], "return.json").exists()
