"""Airflow DAG: roll a model's production version back (triggered by a person, from the UI or `make rollback`)."""

from nivesh_contract.catalog import MODELS
from nivesh_pipelines.rollback import build_rollback_dag

dag = build_rollback_dag(MODELS)
