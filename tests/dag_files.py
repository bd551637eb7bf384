"""The DAG files, parsed once per test session (a DagBag takes seconds): what the DAG tests and the pod checks read."""

import functools

from airflow.dag_processing.dagbag import DagBag

from nivesh_platform.state import DAGS_FOLDER


@functools.cache
def dagbag() -> DagBag:
    return DagBag(str(DAGS_FOLDER))
