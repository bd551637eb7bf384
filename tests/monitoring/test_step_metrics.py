"""What steps push to a real Pushgateway (Debian's): each step's figures in its own group, replaced by a rerun;
production's group moved by promote and rollback only; a train run's resource usage in MLflow; a dead gateway
costs a step seconds and one warning line, never its result."""

import socket
import time

import pandas as pd
import pytest
from mlflow import MlflowClient

from gateway_metrics import pushed, value
from nivesh_common.live_serving import PredictionLog, log_path
from nivesh_common.step_metrics import PUSH_TIMEOUT_S
from nivesh_contract.catalog import model_named
from steps import run_step

SCRIPT, MODEL = "nivesh-anomaly", "anomaly_detector"


def step(env, *arguments) -> dict:
    run = run_step(SCRIPT, *arguments, env=env)
    assert run.exit_code == 0, run.stderr[-3000:]
    return run.result


def live_answers(log_dir):
    """What production v1 and staging v2 answered on live requests, alike: staging is due and passes."""
    for alias, version in (("production", "1"), ("staging", "2")):
        log = PredictionLog(log_path(log_dir, MODEL, alias))
        for number in range(model_named(MODEL).rollout.evaluate_after_requests):
            score = (number % 100) / 100
            answer = {"anomaly_score": score, "is_anomaly": score > 0.9}
            log.write({"alias": alias, "version": version, "status": 200, "latency_ms": 3.0, "predictions": [answer]})
    return log_dir


@pytest.mark.slow  # trains (twice where anomaly is not yet in the session's registry)
def test_each_step_pushes_its_figures_and_production_moves_only_with_the_alias(
    pushgateway, trained_registry, sample_data, tmp_path
):
    env = trained_registry.copy(tmp_path / "store", MODEL)  # v1 in production, trained without a gateway
    env |= {"NIVESH_PUSHGATEWAY_URL": pushgateway, "MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL": "1"}
    data = sample_data(MODEL)

    validated = step(env, "validate", "--data", data)
    trained = step(env, "train", "--data", data)
    judged = step(env, "evaluate", "--run-id", trained["run_id"])
    version = step(env, "register", "--run-id", trained["run_id"])["version"]
    staged = step(env, "promote", "--version", version)  # anomaly declares a canary: v2 becomes staging
    assert staged["staging_version"] == version == 2
    figures = pushed(pushgateway)
    assert value(figures, "nivesh_production_version", job="nivesh_production", model=MODEL) is None
    assert value(figures, "nivesh_staging_version", job="nivesh_production", model=MODEL) == 2
    promoted = step(env, "rollout-evaluate", "--log-dir", live_answers(tmp_path / "predictions"))
    assert promoted["decision"] == "promoted", promoted
    figures = pushed(pushgateway)
    for name in ("validate", "train", "evaluate", "register", "promote", "rollout-evaluate"):
        assert value(figures, "nivesh_step_status", model=MODEL, step=name, status="ok") == 1, name
        assert value(figures, "nivesh_step_duration_seconds", model=MODEL, step=name) > 0, name
    assert value(figures, "nivesh_data_rows", step="validate") == validated["rows"] == trained["rows"]
    recall = value(figures, "nivesh_evaluation_metric", model=MODEL, step="evaluate", metric="test_recall")
    assert recall == judged["metrics"]["test_recall"]
    assert value(figures, "nivesh_registered_version", model=MODEL) == 2
    assert value(figures, "nivesh_production_version", job="nivesh_production", model=MODEL) == 2
    assert value(figures, "nivesh_staging_version", job="nivesh_production", model=MODEL) == 0
    promoted_at = value(figures, "nivesh_last_promotion_timestamp_seconds", model=MODEL)
    assert time.time() - 120 < promoted_at <= time.time()

    # a promote that keeps production, and a rollback: the version moves back, the last promotion stays when it was
    kept = step(env, "promote", "--version", 2)
    assert kept["reason"] == "already production"
    step(env, "rollback")
    figures = pushed(pushgateway)
    assert value(figures, "nivesh_production_version", job="nivesh_production", model=MODEL) == 1
    assert value(figures, "nivesh_last_promotion_timestamp_seconds", model=MODEL) == promoted_at

    # the train run's resource usage, where the run is
    metrics = MlflowClient(env["MLFLOW_TRACKING_URI"]).get_run(trained["run_id"]).data.metrics
    assert metrics["system/cpu_utilization_percentage"] >= 0 and metrics["system/system_memory_usage_megabytes"] > 0
    assert 100 < metrics["train_peak_rss_mb"] < 4096
    assert 0 < metrics["train_wall_seconds"] <= trained["elapsed_s"]


def test_a_rerun_replaces_the_step_s_figures(pushgateway, sample_data, step_env, tmp_path):
    env = step_env | {"NIVESH_PUSHGATEWAY_URL": pushgateway}
    step(env, "validate", "--data", sample_data(MODEL))
    broken = tmp_path / "transactions.csv"
    pd.read_csv(sample_data(MODEL)).drop(columns=["amount"]).to_csv(broken, index=False)
    assert run_step(SCRIPT, "validate", "--data", broken, env=env).exit_code == 2

    figures = pushed(pushgateway)
    statuses = [dict(labels)["status"] for (name, labels) in figures if name == "nivesh_step_status"]
    assert statuses == ["bad_input"]  # the earlier run's ok is gone, not beside it
    assert value(figures, "nivesh_data_rows", step="validate") is None


@pytest.fixture
def silent_gateway():
    """A port that accepts connections and never answers (a hung gateway, a black-holed route)."""
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen(8)
        yield f"http://127.0.0.1:{listening.getsockname()[1]}"


@pytest.fixture
def refusing_gateway():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://ops:s3cret@127.0.0.1:{port}"  # closed again: nothing listens there


@pytest.mark.parametrize("gateway", ["silent_gateway", "refusing_gateway"])
def test_a_dead_gateway_costs_a_step_seconds_and_one_warning_never_its_result(gateway, request, sample_data, step_env):
    env = step_env | {"NIVESH_PUSHGATEWAY_URL": request.getfixturevalue(gateway)}
    started = time.monotonic()
    run = run_step(SCRIPT, "validate", "--data", sample_data(MODEL), env=env)
    waited = time.monotonic() - started

    assert run.exit_code == 0 and run.result["status"] == "ok", run.stderr[-2000:]
    warnings = [line for line in run.stderr.splitlines() if "metrics not pushed" in line]
    assert len(warnings) == 1 and "WARNING" in warnings[0], run.stderr[-2000:]
    assert "s3cret" not in run.stderr + run.stdout
    assert waited < run.result["elapsed_s"] + PUSH_TIMEOUT_S + 10  # the push gave up; the interpreter's start aside
