"""`make ui` while `make run` holds the state dir (or the other way round): one line naming who holds it."""

import os
import subprocess
import sys
from pathlib import Path

from nivesh_contract.catalog import MODELS
from nivesh_platform.services import state_lock
from nivesh_platform.state import EmbeddedState

PLATFORM = str(Path(sys.executable).parent / "nivesh-platform")


def test_a_second_airflow_on_the_state_dir_is_refused_naming_the_holder(tmp_path, monkeypatch):
    state = EmbeddedState(tmp_path / "state")
    state.prepare()
    for model in MODELS:  # sample data in place: `ui` generates none before it asks for the lock
        (state.data_dir / model.data_file).parent.mkdir(parents=True, exist_ok=True)
        (state.data_dir / model.data_file).touch()
    monkeypatch.setattr(sys, "argv", ["nivesh-platform", "run", "--state-dir", str(state.root)])
    with state_lock(state):
        completed = subprocess.run(
            [PLATFORM, "ui", "--state-dir", str(state.root), "--airflow-port", "0", "--mlflow-port", "0"],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert completed.returncode == 1
    assert "Traceback" not in completed.stderr  # (above the line: MLflow creating this fresh state's store)
    line = completed.stderr.strip().splitlines()[-1]
    assert f"Airflow is already running on {state.root}: `nivesh-platform run --state-dir {state.root}`" in line
    assert f"PID {os.getpid()}" in line
    with state_lock(state):  # released: the next one gets it
        pass
