"""Airflow DAG: weekly retraining of the transaction anomaly detector (Thursdays 03:00). Steps live in the catalog."""

from nivesh_pipelines.catalog import ANOMALY
from nivesh_pipelines.pipeline import build_training_dag

dag = build_training_dag(ANOMALY)
