"""Airflow DAG: weekly fine-tuning of the intent classifier (Sundays 02:00) on the GPU pool, from its declaration."""

from nivesh_contract.catalog import model_named
from nivesh_pipelines.pipeline import build_training_dag

dag = build_training_dag(model_named("intent_classifier"))
