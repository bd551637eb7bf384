import os

import pytest

from steps import run_step, step_environment

# Airflow reads its settings at import: point it at a throwaway home before any test imports it.
os.environ.setdefault("AIRFLOW_HOME", "/tmp/nivesh-tests-airflow")
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")


@pytest.fixture
def step_env(tmp_path):
    return step_environment(tmp_path)


@pytest.fixture(scope="session")
def credit_data(tmp_path_factory):
    path = tmp_path_factory.mktemp("credit") / "applications.csv"
    env = step_environment(path.parent)
    assert run_step("nivesh-credit-risk", "sample-data", "--out", path, "--rows", 1500, env=env).exit_code == 0
    return path


@pytest.fixture(scope="session")
def transactions_data(tmp_path_factory):
    path = tmp_path_factory.mktemp("anomaly") / "transactions.csv"
    env = step_environment(path.parent)
    run = run_step("nivesh-anomaly", "sample-data", "--out", path, "--users", 60, "--days", 40, env=env)
    assert run.exit_code == 0
    return path
