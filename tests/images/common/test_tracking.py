import importlib.metadata
import re
import shutil
import subprocess
import sys
from pathlib import Path

import mlflow
import pandas as pd
from mlflow import MlflowClient

from nivesh_common.settings import TrackingSettings
from nivesh_common.tracking import pinned_requirements, use_experiment
from nivesh_contract.names import EXPERIMENT_KIND_TAG, MODEL_TRAINING_KIND, experiment_name


def test_pinned_requirements_work_where_mlflow_is_installed_as_mlflow_skinny(monkeypatch):
    installed_version = importlib.metadata.version

    def skinny_only(name: str) -> str:  # the step images: no `mlflow` distribution, only `mlflow-skinny`
        if name == "mlflow":
            raise importlib.metadata.PackageNotFoundError(name)
        return installed_version(name)

    monkeypatch.setattr(importlib.metadata, "version", skinny_only)
    assert pinned_requirements("pandas") == [f"mlflow=={mlflow.__version__}", f"pandas=={pd.__version__}"]


def test_experiments_open_on_their_runs_in_mlflow_s_ui_new_or_made_before(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    try:
        settings = TrackingSettings(mlflow_tracking_uri=uri, artifact_root=str(tmp_path / "artifacts"))
        new = use_experiment("credit_risk_scorer", settings)
        older = MlflowClient().create_experiment(experiment_name("anomaly_detector"))  # as before the tag existed
        assert use_experiment("anomaly_detector", settings) == older
        for experiment_id in (new, older):
            tags = MlflowClient().get_experiment(experiment_id).tags
            assert tags[EXPERIMENT_KIND_TAG] == MODEL_TRAINING_KIND == "custom_model_development"
    finally:
        mlflow.set_tracking_uri(None)


LINEAGE_VARIABLES = ("NIVESH_IMAGE", "NIVESH_IMAGE_DIGEST", "NIVESH_LAUNCHER", "NIVESH_SOURCE_REVISION")


def test_runs_are_named_after_their_airflow_run_and_tagged_with_the_task(monkeypatch):
    from nivesh_common.tracking import run_labels

    for name in (
        "NIVESH_AIRFLOW_DAG_ID",
        "NIVESH_AIRFLOW_RUN_ID",
        "NIVESH_AIRFLOW_TASK_ID",
        "NIVESH_AIRFLOW_TRY_NUMBER",
        *LINEAGE_VARIABLES,
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "argv", ["pytest"])
    by_hand, tags = run_labels("credit_risk_scorer", "train")
    assert by_hand.startswith("credit_risk_scorer_train_") and by_hand.endswith("Z")
    assert set(tags) == {"nivesh.source_revision"}, "no Airflow task, no image: only where the code came from"
    monkeypatch.setenv("NIVESH_AIRFLOW_DAG_ID", "credit_risk_training")
    monkeypatch.setenv("NIVESH_AIRFLOW_RUN_ID", "scheduled__2026-11-29T03:00:00+00:00")
    monkeypatch.setenv("NIVESH_AIRFLOW_TASK_ID", "train_model")
    monkeypatch.setenv("NIVESH_AIRFLOW_TRY_NUMBER", "2")
    name, tags = run_labels("credit_risk_scorer", "train")
    assert name == "credit_risk_scorer_scheduled__2026-11-29T03:00:00+00:00"
    assert {key: value for key, value in tags.items() if key.startswith("nivesh.airflow.")} == {
        "nivesh.airflow.dag_id": "credit_risk_training",
        "nivesh.airflow.run_id": "scheduled__2026-11-29T03:00:00+00:00",
        "nivesh.airflow.task_id": "train_model",
        "nivesh.airflow.try_number": "2",
    }


def checkout_revision() -> str:
    """What `make images` bakes in, computed here as the Makefile does."""
    git = ["git", "-C", str(Path(__file__).parent)]
    head = subprocess.run([*git, "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True, check=True)
    dirty = subprocess.run([*git, "status", "--porcelain"], capture_output=True, text=True, check=True).stdout.strip()
    return head.stdout.strip() + ("-dirty" if dirty else "")


def test_a_step_in_an_image_tags_its_runs_with_the_image_its_digest_revision_and_package(monkeypatch):
    """As in a pod of launcher docker: the image ref and digest, the launcher, the baked-in revision, and the
    package of the console script the process runs."""
    from nivesh_common.tracking import run_labels

    monkeypatch.setenv("NIVESH_IMAGE", "nivesh/credit-risk:0.1.0")
    monkeypatch.setenv("NIVESH_IMAGE_DIGEST", "sha256:" + "ab" * 32)
    monkeypatch.setenv("NIVESH_LAUNCHER", "docker")
    monkeypatch.setenv("NIVESH_SOURCE_REVISION", "0123456789ab-dirty")
    monkeypatch.setattr(sys, "argv", [str(Path(sys.executable).parent / "nivesh-credit-risk"), "train"])
    _, tags = run_labels("credit_risk_scorer", "train")
    assert tags["nivesh.image"] == "nivesh/credit-risk:0.1.0"
    assert tags["nivesh.image_digest"] == "sha256:" + "ab" * 32
    assert tags["nivesh.launcher"] == "docker"
    assert tags["nivesh.source_revision"] == "0123456789ab-dirty"
    assert tags["nivesh.package"] == f"nivesh-credit-risk {importlib.metadata.version('nivesh-credit-risk')}"


def test_a_step_run_from_the_checkout_takes_the_revision_from_git_or_says_unknown(monkeypatch, tmp_path):
    from nivesh_common.lineage import source_revision
    from nivesh_common.tracking import run_labels

    for name in LINEAGE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "argv", [str(Path(sys.executable).parent / "nivesh-drift"), "check"])
    _, tags = run_labels("credit_risk_scorer-drift", "check")
    expected = checkout_revision() if shutil.which("git") else "unknown"
    assert re.fullmatch(r"[0-9a-f]{12}(-dirty)?|unknown", expected)
    assert tags["nivesh.source_revision"] == expected
    assert tags["nivesh.package"].startswith("nivesh-drift ")
    assert "nivesh.image" not in tags and "nivesh.image_digest" not in tags and "nivesh.launcher" not in tags
    assert source_revision(tmp_path) == "unknown", "no repository there"
    monkeypatch.setenv("PATH", str(tmp_path))  # no git at all
    assert source_revision(Path(__file__).parent) == "unknown"
