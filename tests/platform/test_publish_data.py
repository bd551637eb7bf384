"""`make publish-data MODEL=... DATA=...` refusals: one line each, exit 2 for bad input and 1 for an Airflow that does
not answer, nothing posted. (Posting for real: tests/e2e/test_embedded_services.py, under `make ui`'s Airflow.)"""

import subprocess
import sys
from pathlib import Path

import pytest

from nivesh_platform.services import free_port

PLATFORM = str(Path(sys.executable).parent / "nivesh-platform")


def publish(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([PLATFORM, "publish-data", *args], capture_output=True, text=True, timeout=120)


def refusal(completed: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in completed.stderr and completed.stdout == ""
    (line,) = completed.stderr.strip().splitlines()
    assert line.startswith("nivesh-platform: error: ")
    return line


@pytest.fixture
def state(tmp_path) -> Path:
    data = tmp_path / "state" / "data" / "anomaly"
    data.mkdir(parents=True)
    (data / "new.csv").write_text("amount\n1\n")
    return tmp_path / "state"


@pytest.mark.parametrize(
    ("model", "data", "said"),
    [
        ("churn", "data/anomaly/new.csv", "churn"),
        ("anomaly_detector", "data/anomaly/missing.csv", "missing.csv: no such file"),
        ("anomaly_detector", "data/anomaly", "anomaly: not a file"),
    ],
    ids=["unknown model", "missing file", "a folder"],
)
def test_bad_input_is_one_line_and_exit_2(state, model, data, said):
    completed = publish(model, str(state / data), "--state-dir", str(state))
    assert completed.returncode == 2
    assert said in refusal(completed)


def test_make_ui_s_steps_read_only_its_data_root(state, tmp_path):
    outside = tmp_path / "new.csv"
    outside.write_text("amount\n1\n")
    completed = publish("anomaly_detector", str(outside), "--state-dir", str(state))
    assert completed.returncode == 2
    assert f"outside make ui's data root {state.resolve() / 'data'}" in refusal(completed)


def test_an_airflow_that_does_not_answer_is_one_line_and_exit_1(state):
    url = f"http://127.0.0.1:{free_port()}"
    completed = publish("anomaly_detector", str(state / "data/anomaly/new.csv"), "--airflow-url", url)
    assert completed.returncode == 1
    assert f"Airflow is not answering at {url}" in refusal(completed)
