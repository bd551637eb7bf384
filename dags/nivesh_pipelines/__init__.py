"""Helpers for the Nivesh training DAGs: model catalog, pipeline builder, training-step operator.

Nothing here imports pandas, torch or mlflow: DAG files must parse fast.
"""
