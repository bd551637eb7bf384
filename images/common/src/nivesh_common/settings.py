"""Deployment settings, read from the environment inside a command (never at import time)."""

from pathlib import Path

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from nivesh_common.errors import BadInputError
from nivesh_contract.deployment import ARTIFACT_ROOT_VARIABLE, TRACKING_URI_VARIABLE, XCOM_DIR, XCOM_DIR_VARIABLE


class XComSettings(BaseSettings):
    """Where the step writes its JSON result; KubernetesPodOperator reads /airflow/xcom/return.json."""

    model_config = SettingsConfigDict(extra="ignore")

    xcom_dir: Path = Field(Path(XCOM_DIR), validation_alias=XCOM_DIR_VARIABLE)


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
