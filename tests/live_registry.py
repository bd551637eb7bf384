"""A registry of tiny versions of `anomaly_detector` (tests/live_model.py) in a store of the test's own."""

import shutil
from pathlib import Path

from mlflow import MlflowClient

from nivesh_contract.names import MODEL_TAG
from registry_state import mlflow_pointed_at
from steps import empty_store

MODEL = "anomaly_detector"
CODE = Path(__file__).with_name("live_model.py")


def live_store(folder: Path) -> str:
    database = folder / "mlflow.db"
    shutil.copy(empty_store(), database)
    return f"sqlite:///{database}"


def log_version(tracking_uri: str, folder: Path, trained_by: str = MODEL, **config) -> str:
    """A new version of MODEL (its run tagged as a run of `trained_by`); its number. MLflow's process-wide URIs,
    and the environment variables their setters write, are put back: a later subprocess must not inherit them
    (an Airflow task once read this store's registry beside its own tracking store)."""
    import mlflow
    import pandas as pd

    with mlflow_pointed_at(tracking_uri):
        experiment = MlflowClient(tracking_uri).get_experiment_by_name("live")
        experiment_id = (
            experiment.experiment_id if experiment else mlflow.create_experiment("live", f"{folder}/artifacts")
        )
        with mlflow.start_run(experiment_id=experiment_id, tags={MODEL_TAG: trained_by}):
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=str(CODE),
                model_config=config,
                registered_model_name=MODEL,
                input_example=pd.DataFrame({"amount": [120.5], "request_number": [1]}),
            )
    return str(info.registered_model_version)
