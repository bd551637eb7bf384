"""A state dir on the tests' small data, and waiting for a line of a running `nivesh-platform` command."""

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from nivesh_contract.catalog import MODELS
from nivesh_platform.state import EmbeddedState

PLATFORM = str(Path(sys.executable).parent / "nivesh-platform")


def state_with_data(root: Path, sample_data, **replaced: Path) -> EmbeddedState:
    """A state dir holding every model's small test data (or its replacement), so no full-size data is generated."""
    state = EmbeddedState(root)
    state.prepare()
    for model in MODELS:
        target = state.data_dir / model.data_file
        target.parent.mkdir(parents=True)
        shutil.copy(replaced.get(model.name) or sample_data(model.name), target)
    return state


def wait_for_line(process: subprocess.Popen, log: Path, text: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while text not in log.read_text():
        assert process.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, f"no {text!r} after {timeout_s}s"
        time.sleep(2)


def start_ui(state: EmbeddedState, output: Path) -> tuple[subprocess.Popen, int, int]:
    """`nivesh-platform ui` on the state dir, writing to `output`, once it says it is ready: (process, Airflow
    port, MLflow port). The caller stops it (SIGINT)."""
    from nivesh_platform.services import free_port

    airflow_port, mlflow_port = free_port(), free_port()
    command = [PLATFORM, "ui", "--state-dir", str(state.root), "--airflow-port", str(airflow_port)]
    command += ["--mlflow-port", str(mlflow_port)]
    command += ["--prometheus-port", str(free_port()), "--pushgateway-port", str(free_port())]
    with open(output, "w") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    try:
        wait_for_line(process, output, "Ctrl-C stops them all.", timeout_s=300)
    except BaseException:
        process.send_signal(signal.SIGINT)
        process.wait(60)
        raise
    return process, airflow_port, mlflow_port
