"""Airflow DAG: weekly retraining of the financial NER (Wednesdays 02:00). Built from its declaration."""

from nivesh_contract.catalog import model_named
from nivesh_pipelines.pipeline import build_training_dag

dag = build_training_dag(model_named("financial_ner"))
