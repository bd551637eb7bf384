"""The embedded default (`make run`): real Airflow and MLflow on local state, no cluster, no server."""
