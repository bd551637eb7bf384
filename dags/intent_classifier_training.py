"""Airflow DAG: weekly fine-tuning of the intent classifier (Sundays 02:00), trained on the GPU pool."""

from nivesh_pipelines.catalog import INTENT
from nivesh_pipelines.pipeline import build_training_dag

dag = build_training_dag(INTENT)
