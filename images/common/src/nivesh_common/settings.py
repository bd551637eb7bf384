"""Deployment settings, read from the environment inside a command (never at import time)."""

from pathlib import Path

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from nivesh_common.errors import BadInputError


class XComSettings(BaseSettings):
    """Where the step writes its JSON result; KubernetesPodOperator reads /airflow/xcom/return.json."""

    model_config = SettingsConfigDict(extra="ignore")

    xcom_dir: Path = Field(Path("/airflow/xcom"), validation_alias="NIVESH_XCOM_DIR")


class TrackingSettings(BaseSettings):
    """Settings of steps that talk to MLflow."""

    model_config = SettingsConfigDict(extra="ignore")

    mlflow_tracking_uri: str = Field(validation_alias="MLFLOW_TRACKING_URI", min_length=1)
    # Only for a tracking store without a server (SQLite): where new experiments keep artifacts.
    # Empty means MLflow's default (the server's artifact root, or ./mlruns).
    artifact_root: str = Field("", validation_alias="NIVESH_MLFLOW_ARTIFACT_ROOT")


def load_tracking_settings() -> TrackingSettings:
    try:
        return TrackingSettings()
    except ValidationError:
        raise BadInputError(
            "MLFLOW_TRACKING_URI is not set: pass the MLflow tracking URI in the environment, "
            "e.g. -e MLFLOW_TRACKING_URI=http://mlflow:5000"
        ) from None
