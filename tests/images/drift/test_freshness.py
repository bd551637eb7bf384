"""`nivesh-drift freshness` for real: file modification times against the maximum age."""

import json
import os
import time

import pytest

from steps import run_step, step_environment

DAY = 86400


@pytest.fixture
def datasets(tmp_path):
    fresh, stale = tmp_path / "transactions.csv", tmp_path / "applications.csv"
    for path in (fresh, stale):
        path.write_text("a,b\n1,2\n")
    forty_five_days_ago = time.time() - 45 * DAY
    os.utime(stale, (forty_five_days_ago, forty_five_days_ago))
    return {"anomaly_detector": fresh, "credit_risk_scorer": stale}


def freshness(*args, env):
    return run_step("nivesh-drift", "freshness", *args, env=env)


def test_fresh_data_passes_with_each_age(datasets, tmp_path):
    run = freshness("--data", f"anomaly_detector={datasets['anomaly_detector']}", env=step_environment(tmp_path))
    assert run.exit_code == 0, run.stderr
    assert run.result["stale"] == [] and run.result["datasets"][0]["age_days"] < 1


def test_stale_data_fails_naming_each_stale_dataset_and_its_age(datasets, tmp_path):
    pairs = [arg for name, path in datasets.items() for arg in ("--data", f"{name}={path}")]
    run = freshness(*pairs, "--max-data-age-days", 30, env=step_environment(tmp_path))
    assert run.exit_code == 3
    assert run.result["stale"] == ["credit_risk_scorer"]
    # named by its Airflow asset (the same name the DAG schedules on), its path and its age
    stale_file = datasets["credit_risk_scorer"]
    expected = f"credit_risk_scorer_training_data ({stale_file}): last modified 45.0 days ago, older than 30"
    assert expected in run.result["error"]
    assert "anomaly_detector" not in run.result["error"]
    assert {age["asset"] for age in run.result["datasets"]} == {
        "credit_risk_scorer_training_data",
        "anomaly_detector_training_data",
    }


def test_a_longer_maximum_age_accepts_the_same_data(datasets, tmp_path):
    run = freshness(
        "--data",
        f"credit_risk_scorer={datasets['credit_risk_scorer']}",
        "--max-data-age-days",
        60,
        env=step_environment(tmp_path),
    )
    assert run.exit_code == 0 and run.result["datasets"][0]["age_days"] == pytest.approx(45, abs=0.1)


@pytest.mark.parametrize(
    ("argument", "named"),
    [
        ("credit_risk_scorer=/nowhere/applications.csv", "/nowhere/applications.csv"),
        ("no_such_model=/tmp/x.csv", "no_such_model"),
        ("credit_risk_scorer", "expected MODEL=PATH"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, argument, named):
    run = freshness("--data", argument, env=step_environment(tmp_path))
    assert run.exit_code == 2 and named in run.result["error"]
    assert len(run.error_lines) == 1


def test_a_refresh_snapshot_is_as_old_as_its_manifest_says_not_its_file(tmp_path):
    """A snapshot folder copied or restored yesterday still holds data extracted 45 days ago."""
    snapshot = tmp_path / "anomaly" / "snapshots" / "20261020T020000Z-0123456789ab"
    snapshot.mkdir(parents=True)
    (snapshot / "data.parquet").write_text("a,b\n1,2\n")
    extracted = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() - 45 * DAY))
    (snapshot / "manifest.json").write_text(json.dumps({"extracted_at": extracted, "rows": 1}))
    run = freshness("--data", f"anomaly_detector={snapshot / 'data.parquet'}", env=step_environment(tmp_path))
    assert run.exit_code == 3 and run.result["datasets"][0]["age_days"] == pytest.approx(45, abs=0.01)
    (snapshot / "manifest.json").write_text("{}")
    run = freshness("--data", f"anomaly_detector={snapshot / 'data.parquet'}", env=step_environment(tmp_path))
    assert run.exit_code == 2 and run.result["error"].startswith(f"{snapshot / 'manifest.json'}: unreadable snapshot")
