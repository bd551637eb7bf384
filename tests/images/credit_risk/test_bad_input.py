"""Bad input: exit 2 (1 for an unreachable tracking server), one line naming the problem, nothing logged or moved."""

import pandas as pd
import pytest

from registry_state import aliases, run_count
from steps import run_step


def credit(*args, env):
    return run_step("nivesh-credit-risk", *args, env=env)


def _write(path, content: bytes):
    path.write_bytes(content)
    return path


def _table(credit_data, tmp_path, change):
    table = pd.read_csv(credit_data)
    path = tmp_path / "changed.csv"
    change(table).to_csv(path, index=False)
    return path


BAD_TABLES = {
    "missing file": (lambda data, tmp: tmp / "nope.csv", "file not found"),
    "empty file": (lambda data, tmp: _write(tmp / "empty.csv", b""), "file is empty"),
    "binary content": (
        lambda data, tmp: _write(tmp / "x.csv", bytes(range(256)) * 4),
        "not a CSV, JSON or Parquet file",
    ),
    "corrupt parquet": (lambda data, tmp: _write(tmp / "x.parquet", b"PAR1garbage"), "unreadable Parquet"),
    "target missing": (
        lambda data, tmp: _table(data, tmp, lambda t: t.drop(columns="default")),
        "missing column(s) default",
    ),
    "one class": (lambda data, tmp: _table(data, tmp, lambda t: t.assign(default=0)), "only one class"),
    "all-NaN feature": (
        lambda data, tmp: _table(data, tmp, lambda t: t.assign(annual_income=float("nan"))),
        "annual_income have no values",
    ),
}


@pytest.mark.parametrize("case", BAD_TABLES, ids=list(BAD_TABLES))
@pytest.mark.parametrize("subcommand", ["validate", "train"])
def test_bad_table_is_refused_with_one_line(case, subcommand, credit_data, tmp_path, step_env):
    make, message = BAD_TABLES[case]
    path = make(credit_data, tmp_path)
    run = credit(subcommand, "--data", path, env=step_env)
    assert run.exit_code == 2
    assert run.result["status"] == "bad_input" and message in run.result["error"]
    assert str(path) in run.result["error"] or "column" in run.result["error"]
    assert len(run.error_lines) == 1 and "Traceback" not in run.stderr
    assert run_count(step_env) == 0


def test_positive_label_not_among_values(credit_data, step_env):
    run = credit("train", "--data", credit_data, "--positive-label", "yes", env=step_env)
    assert run.exit_code == 2
    assert "--positive-label yes is not a value of column default (values: 0, 1)" in run.result["error"]
    assert run_count(step_env) == 0


def test_any_table_with_a_target_trains(credit_data, tmp_path, step_env):
    """The data contract is not hard-wired: another target name and string labels work."""
    path = _table(
        credit_data,
        tmp_path,
        lambda t: t.rename(columns={"default": "outcome"}).assign(
            outcome=lambda f: f["outcome"].map({0: "repaid", 1: "charged_off"})
        ),
    )
    args = ("--target", "outcome", "--positive-label", "charged_off", "--protected-attribute", "", "--tune-trials", 0)
    run = credit("train", "--data", path, *args, env=step_env)
    assert run.exit_code == 0, run.stderr
    assert run.result["validation_roc_auc"] > 0.75


def test_small_age_group_is_bad_input_naming_the_group(credit_data, tmp_path, step_env):
    def few_seniors(table):
        table["age"] = table["age"].clip(upper=50)
        table.loc[:3, "age"] = 60  # four applicants over 50: the test split cannot hold five
        return table

    trained = credit("train", "--data", _table(credit_data, tmp_path, few_seniors), "--tune-trials", 0, env=step_env)
    run = credit("fairness", "--run-id", trained.result["run_id"], env=step_env)
    assert run.exit_code == 2
    assert "51-plus" in run.result["error"] and "fewer than 5 samples" in run.result["error"]
    assert "nivesh.gate.fairness" not in _tags(step_env, trained.result["run_id"])


def _tags(env, run_id):
    from registry_state import client_for

    return client_for(env).get_run(run_id).data.tags


def test_unreachable_tracking_server_is_a_clear_error(credit_data, step_env):
    env = step_env | {"MLFLOW_TRACKING_URI": "http://127.0.0.1:9"}
    run = credit("train", "--data", credit_data, env=env)
    assert run.exit_code == 1
    assert "MLflow tracking server http://127.0.0.1:9 cannot be reached" in run.result["error"]
    assert "Traceback" not in run.stderr and len(run.error_lines) == 1


def test_missing_tracking_uri_says_what_to_pass(credit_data, step_env):
    env = {key: value for key, value in step_env.items() if key != "MLFLOW_TRACKING_URI"}
    run = credit("train", "--data", credit_data, env=env)
    assert run.exit_code == 2 and "MLFLOW_TRACKING_URI is not set" in run.result["error"]


def test_usage_errors_are_one_line_exit_2(step_env):
    for args in (("frobnicate",), ("train",), ("train", "--data", "x.csv", "--max-depth", "deep")):
        run = credit(*args, env=step_env)
        assert run.exit_code == 2 and len(run.stderr.strip().splitlines()) == 1, run.stderr


def test_bad_input_moves_no_alias(credit_data, tmp_path, step_env):
    """A registry move refused for bad input leaves production where it was."""
    assert aliases(step_env, "credit_risk_scorer") == {}
    run = credit("promote", "--version", 7, env=step_env)
    assert run.exit_code == 2 and "has no such version" in run.result["error"]
    assert aliases(step_env, "credit_risk_scorer") == {}
