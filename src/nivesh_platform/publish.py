"""`nivesh-platform publish-data`: new training data for a model, recorded as an event of its Airflow data asset.

Two calls of Airflow's REST API (v2, a JWT from /auth/token): `GET /api/v2/assets?name_pattern=<asset name>` finds the
asset's id and the DAGs it schedules; `POST /api/v2/assets/events` with `{"asset_id": ID, "extra": {"path": PATH}}`
records the event. The model's DAG then runs, training on PATH (nivesh_pipelines.steps.data_path).
"""

from pathlib import Path

import httpx

from nivesh_contract.declaration import ModelDeclaration
from nivesh_contract.names import DATA_EVENT_PATH_KEY, data_asset_name
from nivesh_platform.services import LOGIN, AirflowApi, NotAnswering, ServiceError


class PublishError(RuntimeError):
    """Airflow does not answer, refuses the call, or knows no data asset of the model."""


def publish_data_event(url: str, model: ModelDeclaration, data: Path, login: tuple[str, str] = LOGIN) -> str:
    """Posts the event of `model`'s data asset naming `data`; returns one line: the event's id and the DAG it starts."""
    asset_name = data_asset_name(model.name)
    api = AirflowApi(url, login=login)
    try:
        asset = api.asset_named(asset_name)
        if asset is None:
            raise PublishError(f"Airflow at {url} knows no asset {asset_name}: has it parsed {model.dag_id}?")
        event = api.post_asset_event(asset["id"], {DATA_EVENT_PATH_KEY: str(data)})
        dag_ids = sorted(dag["dag_id"] for dag in asset["scheduled_dags"])
        paused = {dag_id for dag_id in dag_ids if api.is_paused(dag_id)}
    except httpx.TransportError as error:
        raise PublishError(f"Airflow is not answering at {url} ({error}): start it with make ui") from None
    except NotAnswering as error:  # it names the URL itself
        raise PublishError(str(error)) from None
    except (httpx.HTTPStatusError, ServiceError) as error:
        raise PublishError(f"Airflow at {url}: {' '.join(str(error).split())[:300]}") from None
    starts = ", ".join(f"{dag_id} (paused: once unpaused)" if dag_id in paused else dag_id for dag_id in dag_ids)
    return f"published {data} as event {event['id']} of asset {asset_name}; it starts {starts or 'no DAG'}"
