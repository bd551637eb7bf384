"""Running a step image's real console script, as the pod (or `docker run`) would."""

import atexit
import functools
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from step_forkserver import StepForkServer

BIN = Path(sys.executable).parent


@dataclass
class StepRun:
    exit_code: int
    result: dict | None
    stdout: str
    stderr: str

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if "ERROR" in line or ": error:" in line]


def run_step(script: str, *args, env: dict[str, str], fresh: bool = False) -> StepRun:
    """The step's console script, in a process forked from this worker's warm interpreter (`step_forkserver`), or
    `fresh`: in a new interpreter, for a test about what a process decides as it starts (hash seed, OpenMP)."""
    argv = [str(BIN / script), *map(str, args)]
    if fresh:
        completed = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    else:
        completed = _step_fork_server().run(argv, env, timeout=600)
    lines = completed.stdout.strip().splitlines()
    result = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else None
    return StepRun(completed.returncode, result, completed.stdout, completed.stderr)


@functools.cache
def _step_fork_server() -> StepForkServer:
    """This worker's fork server, started at its first step with a step's environment and no store."""
    server = StepForkServer({"PATH": f"{BIN}:/usr/bin:/bin", "HOME": tempfile.mkdtemp(prefix="nivesh-step-home-")})
    atexit.register(server.stop)
    return server


@functools.cache
def empty_store() -> Path:
    """An MLflow SQLite store with its tables made, once per test session: a new store costs 3 s of migrations,
    a copy of this one nothing."""
    from mlflow import MlflowClient

    database = Path(tempfile.mkdtemp(prefix="nivesh-empty-store-")) / "mlflow.db"
    MlflowClient(f"sqlite:///{database}").search_experiments()
    return database


def step_environment(root: Path) -> dict[str, str]:
    """A fresh MLflow SQLite store (an empty one's copy) and XCom dir under `root`."""
    (root / "xcom").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(empty_store(), root / "mlflow.db")
    return environment_of(root)


def environment_of(root: Path) -> dict[str, str]:
    """The step environment of the store and XCom dir `step_environment` made under `root`."""
    return {
        "PATH": f"{BIN}:/usr/bin:/bin",
        "HOME": str(root),
        "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}",
        "NIVESH_MLFLOW_ARTIFACT_ROOT": str(root / "artifacts"),
        "NIVESH_XCOM_DIR": str(root / "xcom"),
    }
