"""Airflow DAGs: one data-refresh DAG per model that declares a source (`[source]` in its declaration),
`<model>_data_refresh`."""

from nivesh_contract.catalog import MODELS
from nivesh_pipelines.refresh import build_refresh_dag

for model in MODELS:
    if model.source is not None:
        globals()[model.refresh_dag_id] = build_refresh_dag(model)
