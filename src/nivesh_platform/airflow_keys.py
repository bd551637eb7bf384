"""Airflow's keys on the cluster: Secrets `make deploy` makes once and keeps, named in charts/airflow/values.yaml.

Left to the official chart, the fernet key is a pre-install hook (outside the release: never upgraded or
removed with it) and the API and JWT keys are new random ones on every `helm upgrade`, which signs out every
UI session and every running task's token. The fernet key encrypts connections and variables in Airflow's
database: an existing one is never replaced.
"""

import secrets
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class AirflowKey:
    value_name: str  # the official chart's value naming the Secret
    data_key: str  # the key the chart reads in that Secret
    new_value: Callable[[], str]


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


AIRFLOW_KEYS = (
    AirflowKey("fernetKeySecretName", "fernet-key", _fernet_key),
    AirflowKey("apiSecretKeySecretName", "api-secret-key", lambda: secrets.token_urlsafe(32)),
    AirflowKey("jwtSecretName", "jwt-secret", lambda: secrets.token_urlsafe(64)),
)


def unnamed_keys(values: dict) -> list[str]:
    """The key values our Airflow values leave unset (the chart would make those keys itself)."""
    return [key.value_name for key in AIRFLOW_KEYS if not values.get(key.value_name)]


def key_secrets(values: dict) -> dict[str, AirflowKey]:
    """Secret name -> the key it holds, as our Airflow values name them."""
    return {values[key.value_name]: key for key in AIRFLOW_KEYS if values.get(key.value_name)}
