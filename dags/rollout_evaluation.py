"""Airflow DAGs: each staged model's rollout, judged hourly (nivesh_pipelines.rollout)."""

from nivesh_contract.catalog import MODELS
from nivesh_pipelines.rollout import build_rollout_dag

for model in MODELS:
    if model.rollout.staged:
        globals()[model.rollout_dag_id] = build_rollout_dag(model)
