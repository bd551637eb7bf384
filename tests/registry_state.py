"""Reading what a test's MLflow store holds, to assert that nothing was logged, registered or moved."""

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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


@contextmanager
def mlflow_pointed_at(uri: str) -> Iterator[None]:
    """MLflow's process-wide tracking and registry URIs set to `uri`, then unset, and their environment variables
    (which the setters also write) put back. Not set back to what the getters returned before: that is the resolved
    default, `sqlite:///mlflow.db`, and a registry URI set to it sent later tests' registry calls to the working
    directory's store, whatever URI their clients were given."""
    saved = {name: os.environ.get(name) for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(None)
        mlflow.set_registry_uri(None)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


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


def load_from_store(env: dict[str, str], model_uri: str, load: Callable[[str], Any]) -> Any:
    """`load(model_uri)` from the test's own store (`models:/name@production`: as a consumer of the registry
    would)."""
    with mlflow_pointed_at(env["MLFLOW_TRACKING_URI"]):
        return load(model_uri)
