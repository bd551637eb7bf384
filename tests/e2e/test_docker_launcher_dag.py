"""The credit risk DAG end to end with launcher `docker`: the real step images, an MLflow server on 127.0.0.1.

Needs a Docker engine and the images (`make images`); skipped, saying which is missing, where either is not here.
"""

import os
import shutil
import subprocess

import pytest
from mlflow import MlflowClient

from docker_engine import DOCKER, require_images
from nivesh_contract.catalog import DRIFT_IMAGE, model_named
from nivesh_platform.embedded import migrate_metadata_db, run_dag
from nivesh_platform.state import EmbeddedState
from quick_credit import QUICK_CREDIT_CONF

CREDIT_RISK = model_named("credit_risk_scorer")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]


def test_credit_risk_dag_through_the_real_images(tmp_path, mlflow_server, credit_data):
    require_images([CREDIT_RISK.image.ref, DRIFT_IMAGE.ref])
    data = tmp_path / "data"
    (data / "credit_risk").mkdir(parents=True)
    shutil.copy(credit_data, data / "credit_risk" / "applications.csv")
    state = EmbeddedState(tmp_path / "state")
    state.prepare()
    environment = state.environment(dict(os.environ)) | {
        "NIVESH_LAUNCHER": "docker",
        "NIVESH_DOCKER": DOCKER,
        "NIVESH_DOCKER_DATA_DIR": str(data),
        "AIRFLOW_VAR_NIVESH_MLFLOW_TRACKING_URI": mlflow_server,
        "AIRFLOW_VAR_NIVESH_MLFLOW_ARTIFACT_ROOT": "",  # the server's own artifact store
        "AIRFLOW_VAR_NIVESH_DATA_ROOT": "/data",  # where the container sees NIVESH_DOCKER_DATA_DIR
    }
    migrate_metadata_db(state, environment)

    outcome = run_dag(state, CREDIT_RISK.dag_id, environment, QUICK_CREDIT_CONF)

    log = outcome.log_file.read_text()
    assert outcome.succeeded, log[-5000:]
    assert "launcher docker: pod credit-risk-scorer-train-model" in log and "--network host" in log
    client = MlflowClient(mlflow_server, mlflow_server)
    production = client.get_model_version_by_alias(CREDIT_RISK.name, "production")
    assert int(production.version) == 1
    assert client.get_run(production.run_id).data.tags["nivesh.data.source"] == "/data/credit_risk/applications.csv"

    _served_in_its_own_image(mlflow_server, data / "credit_risk" / "applications.csv")


SERVE_IN_IMAGE = """
import mlflow, pandas as pd
applications = pd.read_csv("/data/applications.csv").drop(columns=["default"]).head(5)
answer = mlflow.pyfunc.load_model("models:/credit_risk_scorer@production").predict(applications)
print(sorted(answer.columns), len(answer))
"""


def _served_in_its_own_image(mlflow_server: str, applications) -> None:
    """The production model loads and answers raw rows in the credit image alone, as a consumer's pod would:
    read-only, its own user, pickle refused."""
    isolated = ["--rm", "--read-only", "--tmpfs", "/tmp", "--network", "host", "--entrypoint", "python"]
    settings = ["-e", f"MLFLOW_TRACKING_URI={mlflow_server}", "-e", "MLFLOW_ALLOW_PICKLE_DESERIALIZATION=false"]
    mounted = ["-v", f"{applications}:/data/applications.csv:ro"]
    completed = subprocess.run(
        [DOCKER, "run", *isolated, *settings, *mounted, CREDIT_RISK.image.ref, "-c", SERVE_IN_IMAGE],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert completed.stdout.strip().splitlines()[-1] == "['decision', 'default_probability', 'reasons'] 5"
