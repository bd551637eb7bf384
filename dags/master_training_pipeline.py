"""Airflow DAG: the weekly master pipeline (Mondays 01:00) over every declared model."""

from nivesh_contract.catalog import MODELS
from nivesh_pipelines.master import build_master_dag

dag = build_master_dag(MODELS)
