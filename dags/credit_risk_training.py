"""Airflow DAG: weekly retraining of the credit risk scorer (Saturdays 03:00). Steps live in the catalog."""

from nivesh_pipelines.catalog import CREDIT_RISK
from nivesh_pipelines.pipeline import build_training_dag

dag = build_training_dag(CREDIT_RISK)
