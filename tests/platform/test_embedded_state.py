"""The embedded default's Airflow settings, sized to this machine."""

import os

from nivesh_contract.catalog import MODELS
from nivesh_platform.state import EmbeddedState


def test_local_executor_runs_as_many_tasks_as_the_pipeline_needs_not_airflow_s_32(tmp_path):
    parallelism = int(EmbeddedState(tmp_path).environment({})["AIRFLOW__CORE__PARALLELISM"])
    assert parallelism >= len(MODELS) + 1  # every model DAG's step at once, and the master's own task
    assert parallelism == max(len(MODELS) + 1, 2 * os.cpu_count())
    assert parallelism < 32 or os.cpu_count() >= 16
