"""Helpers for the Nivesh training DAGs: steps from the model declarations, DAG builders, the step operator.

Nothing here imports pandas, torch or mlflow: DAG files must parse fast.
"""
