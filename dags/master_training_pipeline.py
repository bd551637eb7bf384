"""Airflow DAG: the weekly master pipeline (Mondays 01:00) over every model in the catalog."""

from nivesh_pipelines.catalog import MODELS
from nivesh_pipelines.master import build_master_dag

dag = build_master_dag(MODELS)
