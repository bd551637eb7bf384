"""`rollout-evaluate` on prediction logs as the servers write them (PredictionLog), against a real MLflow store
holding production v1 and staging v2 of a tiny model."""

import dataclasses
import json
import shutil
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from mlflow import MlflowClient

from live_registry import MODEL, live_store, log_version
from nivesh_common.errors import BadInputError
from nivesh_common.live_serving import PredictionLog, log_path
from nivesh_common.rollout_evaluation import evaluate_staging, prediction_shift
from nivesh_contract.catalog import model_named
from nivesh_contract.names import PREVIOUS, PRODUCTION, ROLLOUT_TAG, STAGED_AT_TAG, STAGING
from nivesh_contract.rollout import Rollout
from steps import run_step

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)


def declared(approval: bool = False, **rollout):
    settings = {"strategy": "canary", "prediction": "anomaly_score", "evaluate_after_requests": 100} | rollout
    return dataclasses.replace(model_named(MODEL), rollout=Rollout(**settings), approval_on_cluster=approval)


@pytest.fixture(scope="module")
def versions(tmp_path_factory):
    """A store with v1 (production) and v2 (staging, staged a day before NOW), copied for each test."""
    folder = tmp_path_factory.mktemp("versions")
    uri = live_store(folder)
    for alias in (PRODUCTION, STAGING):
        MlflowClient(uri, uri).set_registered_model_alias(MODEL, alias, log_version(uri, folder, factor=1.0))
    MlflowClient(uri, uri).set_model_version_tag(MODEL, "2", STAGED_AT_TAG, (NOW - timedelta(days=1)).isoformat())
    return folder


@pytest.fixture
def client(versions, tmp_path):
    shutil.copytree(versions, tmp_path / "store")
    uri = f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}"
    return MlflowClient(uri, uri)


def write_answers(
    log_dir, alias: str, version: str, count: int, latency_ms=5.0, errors=0, scores=None, flagged=None
) -> None:
    """`flagged`: which requests (by number) the version answers is_anomaly true for; default: score > 0.9."""
    log = PredictionLog(log_path(log_dir, MODEL, alias))
    rng = np.random.default_rng(7)
    for number in range(count):
        failed = number < errors
        score = float(scores[number]) if scores is not None else float(rng.uniform(0, 1))
        anomaly = flagged(number) if flagged else score > 0.9
        log.write(
            {
                "request_id": f"{alias}-{number}",
                "alias": alias,
                "version": version,
                "status": 400 if failed else 200,
                "latency_ms": latency_ms,
                "predictions": None if failed else [{"anomaly_score": score, "is_anomaly": anomaly}],
            }
        )


def aliases(client) -> dict[str, int]:
    return dict(client.get_registered_model(MODEL).aliases)


def test_not_due_it_waits_and_moves_nothing(client, tmp_path):
    write_answers(tmp_path, PRODUCTION, "1", 500)
    write_answers(tmp_path, STAGING, "2", 40)
    judged = evaluate_staging(client, declared(), tmp_path, approved=False, now=NOW)
    assert (
        judged["decision"] == "waiting" and judged["reason"] == "not due yet: 40 of 100 requests, staged 1.0 days ago"
    )
    assert aliases(client) == {PRODUCTION: 1, STAGING: 2}


def test_a_staging_version_as_good_as_production_is_promoted_with_the_comparison_in_its_description(client, tmp_path):
    write_answers(tmp_path, PRODUCTION, "1", 900)
    write_answers(tmp_path, STAGING, "2", 120)
    judged = evaluate_staging(client, declared(), tmp_path, approved=False, now=NOW)
    assert judged["decision"] == "promoted", judged
    assert judged["staging"] == {"version": 2, "requests": 120, "error_rate": 0.0, "latency_p95_ms": 5.0}
    assert aliases(client) == {PRODUCTION: 2, PREVIOUS: 1}
    version = client.get_model_version(MODEL, "2")
    assert version.tags[ROLLOUT_TAG] == "promoted"
    assert "| requests | 900 | 120 |" in version.description and "Live comparison (canary)" in version.description


def test_a_model_that_needs_approval_waits_for_it_then_moves(client, tmp_path):
    write_answers(tmp_path, PRODUCTION, "1", 300)
    write_answers(tmp_path, STAGING, "2", 120)
    waiting = evaluate_staging(client, declared(approval=True), tmp_path, approved=False, now=NOW)
    assert waiting["decision"] == "awaiting_approval" and aliases(client) == {PRODUCTION: 1, STAGING: 2}
    assert evaluate_staging(client, declared(approval=True), tmp_path, approved=True, now=NOW)["decision"] == "promoted"


@pytest.mark.parametrize(
    ("staging", "reason"),
    [
        ({"latency_ms": 20.0}, "p95 latency 20.0 ms against production's 5.0 ms (allowed: x1.5)"),
        ({"scores": np.linspace(2, 3, 120)}, "anomaly_score shifted by 1.000 from production's (allowed: 0.2)"),
        ({"errors": 6}, "error rate 5.00% against production's 0.00% (allowed: +1.00%)"),
    ],
    ids=["slower", "shifted", "5 percent errors"],
)
def test_a_worse_staging_version_is_rolled_back_and_production_untouched(client, tmp_path, staging, reason):
    write_answers(tmp_path, PRODUCTION, "1", 300)
    write_answers(tmp_path, STAGING, "2", 120, **staging)
    judged = evaluate_staging(client, declared(), tmp_path, approved=False, now=NOW)
    assert judged["decision"] == "rolled_back" and reason in judged["reason"], judged
    assert aliases(client) == {PRODUCTION: 1}
    assert client.get_model_version(MODEL, "2").tags[ROLLOUT_TAG] == "rolled_back"


def test_after_the_declared_days_it_is_judged_on_what_it_answered(client, tmp_path):
    write_answers(tmp_path, PRODUCTION, "1", 300)
    write_answers(tmp_path, STAGING, "2", 30)
    later = NOW + timedelta(days=7)
    assert evaluate_staging(client, declared(), tmp_path, approved=False, now=later)["decision"] == "promoted"


def test_answers_of_other_versions_do_not_count(client, tmp_path):
    write_answers(tmp_path, STAGING, "7", 500, errors=500)  # an older staging version's answers
    write_answers(tmp_path, PRODUCTION, "1", 300)
    write_answers(tmp_path, STAGING, "2", 30)
    assert evaluate_staging(client, declared(), tmp_path, approved=False, now=NOW)["decision"] == "waiting"


@pytest.mark.parametrize(
    "line",
    [
        '{"alias": "production"}',
        '{"alias": "production", "version": "1", "status": "200", "latency_ms": 5}',
        '{"alias": "production", "version": "1", "status": 200, "latency_ms": -1}',
        '{"alias": "production", "version": "1", "status": 200, "latency_ms": NaN}',
        "[1, 2]",
        "not json",
    ],
    ids=["fields missing", "status as text", "negative latency", "NaN latency", "a list", "not json"],
)
def test_a_broken_log_line_is_bad_input_naming_the_file_and_line(client, tmp_path, line):
    write_answers(tmp_path, PRODUCTION, "1", 3)
    path = log_path(tmp_path, MODEL, PRODUCTION)
    path.write_text(path.read_text() + line + "\n")
    with pytest.raises(BadInputError, match=rf"^{path}: line 4 is not an answer the servers log$"):
        evaluate_staging(client, declared(), tmp_path, approved=False, now=NOW)
    assert aliases(client) == {PRODUCTION: 1, STAGING: 2}


def test_a_direct_model_is_bad_input_and_no_staging_is_nothing_to_judge(client, tmp_path):
    with pytest.raises(BadInputError, match="rollout strategy direct: there is no staging to evaluate"):
        evaluate_staging(client, declared(strategy="direct"), tmp_path, approved=False, now=NOW)
    client.delete_registered_model_alias(MODEL, STAGING)
    judged = evaluate_staging(client, declared(), tmp_path, approved=False, now=NOW)
    assert (judged["decision"], judged["reason"]) == (
        "nothing_staged",
        "no staging version beside a production one: nothing to evaluate",
    )
    assert aliases(client) == {PRODUCTION: 1}


def test_prediction_shift_of_numbers_and_of_labels():
    assert prediction_shift((1.0, 2.0, 3.0), (1.0, 2.0, 3.0)) == 0.0
    assert prediction_shift((1.0, 2.0), (5.0, 6.0)) == 1.0
    assert prediction_shift(("a", "a", "b", "b"), ("a", "b", "b", "b")) == pytest.approx(0.25)


def test_serving_a_version_another_model_trained_is_refused(client, tmp_path):
    uri = client.tracking_uri
    folder = tmp_path / "other"
    folder.mkdir()
    version = log_version(uri, folder, trained_by="credit_risk_scorer", factor=1.0)
    client.set_registered_model_alias(MODEL, STAGING, version)
    env = {"MLFLOW_TRACKING_URI": uri, "PATH": "/usr/bin:/bin"}
    served = run_step("nivesh-anomaly", "serve", "staging", "--log-dir", tmp_path / "logs", env=env)
    assert served.exit_code == 2
    assert served.stderr.strip().splitlines()[-1] == (
        f"nivesh-anomaly serve: error: {MODEL}@staging is version {version}, trained by a run of credit_risk_scorer "
        f"(tag nivesh.model), not of {MODEL}: not served"
    )
    assert not (tmp_path / "logs").exists() or not any((tmp_path / "logs").rglob("*.jsonl"))


def report_outcomes(log_dir, alias: str, count: int, fraud) -> None:
    """What the app reports later: which requests were confirmed fraud."""
    folder = log_dir / MODEL / "outcomes"
    folder.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"request_id": f"{alias}-{n}", "outcome": fraud(n)}) for n in range(count)]
    (folder / f"{alias}.jsonl").write_text("\n".join(lines) + "\n")


def test_where_outcomes_arrive_a_version_that_misses_more_fraud_is_rolled_back(client, tmp_path):
    model = declared(outcome="is_anomaly", max_prediction_shift=1.0)
    fraud = lambda n: n % 10 == 0  # noqa: E731
    write_answers(tmp_path, PRODUCTION, "1", 300, flagged=fraud)  # flags every fraud
    write_answers(tmp_path, STAGING, "2", 120, flagged=lambda n: n % 20 == 0)  # misses half of them
    report_outcomes(tmp_path, PRODUCTION, 300, fraud)
    report_outcomes(tmp_path, STAGING, 120, fraud)
    judged = evaluate_staging(client, model, tmp_path, approved=False, now=NOW)
    assert judged["decision"] == "rolled_back", judged
    assert (
        "is_anomaly matched the reported outcome on 95.00% of 120 requests against production's 100.00% of 300"
        in (judged["reason"])
    )
    assert (judged["staging"]["outcome_accuracy"], judged["production"]["outcomes"]) == (0.95, 300)


def test_too_few_outcomes_are_not_judged_and_a_broken_report_is_named(client, tmp_path):
    model = declared(outcome="is_anomaly", max_prediction_shift=1.0)
    write_answers(tmp_path, PRODUCTION, "1", 300, flagged=lambda n: True)
    write_answers(tmp_path, STAGING, "2", 120, flagged=lambda n: False)
    report_outcomes(tmp_path, STAGING, 29, lambda n: True)  # staging wrong on all 29: too few to judge
    report_outcomes(tmp_path, PRODUCTION, 100, lambda n: True)
    assert evaluate_staging(client, model, tmp_path, approved=False, now=NOW)["decision"] == "promoted"
    broken = tmp_path / MODEL / "outcomes" / "late.jsonl"
    broken.write_text('{"request_id": 7, "outcome": true}\n')
    client.set_registered_model_alias(MODEL, STAGING, "1")
    with pytest.raises(BadInputError, match=rf"^{broken}: line 1: expected"):
        evaluate_staging(client, model, tmp_path, approved=False, now=NOW)
