"""Airflow DAG: weekly retraining of the spending predictor (Fridays 04:00). Steps live in the catalog."""

from nivesh_pipelines.catalog import SPENDING
from nivesh_pipelines.pipeline import build_training_dag

dag = build_training_dag(SPENDING)
