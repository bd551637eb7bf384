"""Deployment settings, read from the environment inside a command (never at import time)."""

import os
from pathlib import Path

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from nivesh_common.errors import BadInputError
from nivesh_contract.deployment import (
    AIRFLOW_CONTEXT_VARIABLES,
    ARTIFACT_ROOT_VARIABLE,
    DATA_ROOT_VARIABLE,
    DATA_SCHEMES_VARIABLE,
    TRACKING_URI_VARIABLE,
    XCOM_DIR,
    XCOM_DIR_VARIABLE,
)

# What MLflow reads from the environment, as a step wants it unless the deployment says otherwise:
# - bounded retries, so that a step that loses its server fails within two minutes (MLflow's own
#   defaults retry for about twelve);
# - no pickle: models load only from safe formats (XGBoost UBJSON, Prophet and spaCy files, skops with
#   the trust list fixed in code, models-from-code); set it to true only to load legacy pickled models;
# - a train run's system metrics sampled every 5 s (MLflow's 10 s leave a one-minute training with 5 samples).
LIBRARY_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "20",
    "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "false",
    "MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL": "5",
}


def apply_library_defaults() -> None:
    for name, value in LIBRARY_DEFAULTS.items():
        os.environ.setdefault(name, value)


class XComSettings(BaseSettings):
    """Where the step writes its JSON result; KubernetesPodOperator reads /airflow/xcom/return.json."""

    model_config = SettingsConfigDict(extra="ignore")

    xcom_dir: Path = Field(Path(XCOM_DIR), validation_alias=XCOM_DIR_VARIABLE)


class DataSettings(BaseSettings):
    """Where a step may read data: local files under `data_root` (anywhere when it is empty, as when a step runs
    by hand), and URLs only of the schemes listed (none by default): a pod reads its data volume, not the
    network, and never a metadata endpoint or a secret beside its data."""

    model_config = SettingsConfigDict(extra="ignore")

    data_root: str = Field("", validation_alias=DATA_ROOT_VARIABLE)
    schemes: str = Field("", validation_alias=DATA_SCHEMES_VARIABLE)

    @property
    def allowed_schemes(self) -> set[str]:
        return {"file", *(scheme.strip() for scheme in self.schemes.split(",") if scheme.strip())}


class TrackingSettings(BaseSettings):
    """Settings of steps that talk to MLflow."""

    model_config = SettingsConfigDict(extra="ignore")

    mlflow_tracking_uri: str = Field(validation_alias=TRACKING_URI_VARIABLE, min_length=1)
    # Only for a tracking store without a server (SQLite): where new experiments keep artifacts.
    # Empty means MLflow's default (the server's artifact root, or ./mlruns).
    artifact_root: str = Field("", validation_alias=ARTIFACT_ROOT_VARIABLE)


def load_tracking_settings() -> TrackingSettings:
    try:
        return TrackingSettings()
    except ValidationError:
        raise BadInputError(
            f"{TRACKING_URI_VARIABLE} is not set: pass the MLflow tracking URI in the environment, "
            f"e.g. -e {TRACKING_URI_VARIABLE}=http://mlflow:5000"
        ) from None


def airflow_task() -> dict[str, str]:
    """The Airflow task this step runs for (dag_id, run_id, task_id, try_number); empty when run by hand."""
    return {field: os.environ[name] for field, name in AIRFLOW_CONTEXT_VARIABLES.items() if os.environ.get(name)}
