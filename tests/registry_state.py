"""Reading what a test's MLflow store holds, to assert that nothing was logged, registered or moved."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import mlflow
from mlflow import MlflowClient


def client_for(env: dict[str, str]) -> MlflowClient:
    return MlflowClient(env["MLFLOW_TRACKING_URI"], env["MLFLOW_TRACKING_URI"])


def store_exists(env: dict[str, str]) -> bool:
    return Path(env["MLFLOW_TRACKING_URI"].removeprefix("sqlite:///")).exists()


def run_count(env: dict[str, str]) -> int:
    if not store_exists(env):
        return 0
    client = client_for(env)
    experiments = [experiment.experiment_id for experiment in client.search_experiments()]
    return len(client.search_runs(experiments)) if experiments else 0


def aliases(env: dict[str, str], model: str) -> dict[str, str]:
    if not store_exists(env):
        return {}
    models = client_for(env).search_registered_models(f"name='{model}'")
    return dict(models[0].aliases) if models else {}


def version_count(env: dict[str, str], model: str) -> int:
    if not store_exists(env):
        return 0
    return len(client_for(env).search_model_versions(f"name='{model}'"))


def load_from_store(env: dict[str, str], model_uri: str, load: Callable[[str], Any]) -> Any:
    """`load(model_uri)` from the test's own store (`models:/name@production`: as a consumer of the registry
    would); MLflow's process-wide URIs are put back afterwards."""
    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    mlflow.set_tracking_uri(env["MLFLOW_TRACKING_URI"])
    mlflow.set_registry_uri(env["MLFLOW_TRACKING_URI"])
    try:
        return load(model_uri)
    finally:
        mlflow.set_tracking_uri(previous[0])
        mlflow.set_registry_uri(previous[1])


def store_state(env: dict[str, str]) -> dict:
    """Everything a step could have left behind: runs with their status, and each registered model's versions
    and aliases (a lock left held included)."""
    if not store_exists(env):
        return {}
    client = client_for(env)
    experiments = [experiment.experiment_id for experiment in client.search_experiments()]
    runs = sorted((run.info.run_id, run.info.status) for run in client.search_runs(experiments)) if experiments else []
    models = {
        model.name: (len(client.search_model_versions(f"name='{model.name}'")), dict(model.aliases))
        for model in client.search_registered_models()
    }
    return {"runs": runs, "models": models}
