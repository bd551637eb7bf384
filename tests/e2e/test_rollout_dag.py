"""The anomaly detector's rollout DAG run by Airflow through `make rollout-evaluate` (`airflow dags test`, launcher
local: the model's own `rollout-evaluate`) on a real MLflow store and the answers its servers logged: a staging
version failing 5% of requests is rolled back and the team told, with the comparison, production untouched; an hour
with nothing staged is quiet; a broken answer log fails the run, named, and moves nothing."""

import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from mlflow import MlflowClient

from embedded_state import PLATFORM
from live_registry import MODEL, log_version
from nivesh_common.live_serving import PredictionLog, log_path
from nivesh_contract.names import PRODUCTION, STAGED_AT_TAG, STAGING
from nivesh_platform.embedded import create_tracking_store
from nivesh_platform.state import EmbeddedState

pytestmark = pytest.mark.slow

DAG_ID = f"{MODEL}_rollout"
SUBJECT = f"[nivesh] {DAG_ID}: rolled back"


@pytest.fixture
def staged(tmp_path) -> tuple[EmbeddedState, MlflowClient]:
    """An embedded state whose registry has production v1 and staging v2, staged 8 days ago: due by the days."""
    state = EmbeddedState(tmp_path / "state")
    state.prepare()
    create_tracking_store(state)
    client = MlflowClient(state.tracking_uri, state.tracking_uri)
    for alias in (PRODUCTION, STAGING):
        client.set_registered_model_alias(MODEL, alias, log_version(state.tracking_uri, tmp_path, factor=1.0))
    staged_at = (datetime.now(UTC) - timedelta(days=8)).isoformat()
    client.set_model_version_tag(MODEL, "2", STAGED_AT_TAG, staged_at)
    return state, client


def answered(state: EmbeddedState, alias: str, version: str, count: int, errors: int) -> None:
    log = PredictionLog(log_path(state.predictions_dir, MODEL, alias))
    for number in range(count):
        failed = number % (count // errors) == 0 if errors else False
        predictions = None if failed else [{"anomaly_score": number % 100 / 100, "is_anomaly": False}]
        log.write(
            {
                "request_id": f"{alias}-{number}",
                "alias": alias,
                "version": version,
                "status": 500 if failed else 200,
                "latency_ms": 4.0,
                "predictions": predictions,
            }
        )


def rollout_evaluate(state: EmbeddedState) -> subprocess.CompletedProcess:
    command = [PLATFORM, "rollout-evaluate", MODEL, "--state-dir", str(state.root)]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


def test_a_failing_staging_is_rolled_back_and_told_then_the_next_hour_is_quiet(staged):
    state, client = staged
    answered(state, PRODUCTION, "1", 1000, errors=0)
    answered(state, STAGING, "2", 200, errors=10)

    judged = rollout_evaluate(state)

    assert judged.returncode == 0, judged.stdout[-3000:] + judged.stderr[-3000:]
    reason = "v2 rolled back: error rate 5.00% against production's 0.00% (allowed: +1.00%)"
    assert reason in judged.stdout and "| error rate | 0.0 | 0.05 |" in judged.stdout
    notified = state.notification_file.read_text()
    assert SUBJECT in notified and reason in notified and "| | production v1 | staging v2 |" in notified
    assert dict(client.get_registered_model(MODEL).aliases) == {PRODUCTION: 1}
    assert reason in client.get_model_version(MODEL, "2").description

    quiet = rollout_evaluate(state)
    assert quiet.returncode == 0, quiet.stdout[-3000:] + quiet.stderr[-3000:]
    assert quiet.stdout.strip() == (
        f"{DAG_ID}: nothing staged: no staging version beside a production one: nothing to evaluate"
    )
    assert state.notification_file.read_text() == notified, "an hour with nothing to judge notifies no one"


def test_a_broken_answer_log_fails_the_run_naming_the_line_and_moves_nothing(staged):
    state, client = staged
    answered(state, PRODUCTION, "1", 100, errors=0)
    broken = log_path(state.predictions_dir, MODEL, STAGING)
    broken.write_text('{"alias": "staging", "version": "2", "status": 200, "latency_ms": 3.0}\n{"alias": "staging"\n')

    failed = rollout_evaluate(state)

    assert failed.returncode == 1, failed.stdout[-3000:]
    assert f"{broken}: line 2 is not an answer the servers log" in failed.stdout
    assert f"[nivesh] {DAG_ID}.evaluate_rollout failed" in state.notification_file.read_text()
    assert dict(client.get_registered_model(MODEL).aliases) == {PRODUCTION: 1, STAGING: 2}
