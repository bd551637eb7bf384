import importlib.metadata

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


def test_runs_are_named_after_their_airflow_run_and_tagged_with_the_task(monkeypatch):
    from nivesh_common.tracking import run_labels

    for name in (
        "NIVESH_AIRFLOW_DAG_ID",
        "NIVESH_AIRFLOW_RUN_ID",
        "NIVESH_AIRFLOW_TASK_ID",
        "NIVESH_AIRFLOW_TRY_NUMBER",
    ):
        monkeypatch.delenv(name, raising=False)
    by_hand, no_tags = run_labels("credit_risk_scorer", "train")
    assert by_hand.startswith("credit_risk_scorer_train_") and by_hand.endswith("Z") and no_tags == {}
    monkeypatch.setenv("NIVESH_AIRFLOW_DAG_ID", "credit_risk_training")
    monkeypatch.setenv("NIVESH_AIRFLOW_RUN_ID", "scheduled__2026-11-29T03:00:00+00:00")
    monkeypatch.setenv("NIVESH_AIRFLOW_TASK_ID", "train_model")
    monkeypatch.setenv("NIVESH_AIRFLOW_TRY_NUMBER", "2")
    name, tags = run_labels("credit_risk_scorer", "train")
    assert name == "credit_risk_scorer_scheduled__2026-11-29T03:00:00+00:00"
    assert tags == {
        "nivesh.airflow.dag_id": "credit_risk_training",
        "nivesh.airflow.run_id": "scheduled__2026-11-29T03:00:00+00:00",
        "nivesh.airflow.task_id": "train_model",
        "nivesh.airflow.try_number": "2",
    }
