"""Airflow DAG: weekly retraining of the financial NER (Wednesdays 02:00). Steps live in the catalog."""

from nivesh_pipelines.catalog import NER
from nivesh_pipelines.pipeline import build_training_dag

dag = build_training_dag(NER)
