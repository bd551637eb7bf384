"""Registry moves against a real MLflow SQLite store; the champion scorer is the injected policy input."""

import dataclasses

import mlflow
import pytest
from mlflow import MlflowClient
from sklearn.dummy import DummyClassifier

from nivesh_common.errors import BadInputError, GateFailedError
from nivesh_common.gates import evaluate_gate, record_gate
from nivesh_common.registry import promote_candidate, register_candidate, rollback_production, version_by_alias
from nivesh_contract.declaration import ModelDeclaration, Promotion, StepImage, TableDrift, at_least
from nivesh_contract.names import MODEL_TAG, MODEL_URI_TAG

NAME = "toy_model"
TOY = ModelDeclaration(
    name=NAME,
    image=StepImage("toy", size_target_mb=100),
    dag_id="toy_training",
    schedule="@weekly",
    data_file="toy/data.csv",
    description="A toy model for registry tests.",
    thresholds=(at_least("s", 0.5),),
    promotion=Promotion("test_score", tolerance=0.01),
    drift=TableDrift(),
    summary_metrics=("test_score",),
)
TOLERANCE = TOY.promotion.tolerance


@pytest.fixture
def client(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    mlflow.set_experiment("toy")
    return MlflowClient(uri, uri)


def trained_run(score: float, gate_passed: bool = True, model: str = NAME) -> str:
    with mlflow.start_run(tags={MODEL_TAG: model}) as run:
        info = mlflow.sklearn.log_model(DummyClassifier().fit([[0], [1]], [0, 1]), name="model")
        mlflow.set_tag(MODEL_URI_TAG, info.model_uri)
        mlflow.log_metric("test_score", score)
    (threshold,) = TOY.thresholds
    gate = evaluate_gate("evaluate", {"s": 1.0 if gate_passed else 0.0}, {threshold: threshold.default})
    record_gate(run.info.run_id, gate)
    return run.info.run_id


def champion_scoring(score: float):
    return lambda champion, candidate_run_id: score


def production(client) -> int | None:
    version = version_by_alias(client, NAME, "production")
    return version.version if version else None


def test_register_is_idempotent_and_sets_candidate(client):
    run_id = trained_run(0.9)
    first = register_candidate(client, TOY, run_id)
    second = register_candidate(client, TOY, run_id)
    assert first["version"] == second["version"] == 1
    assert first["newly_registered"] and not second["newly_registered"]
    assert len(client.search_model_versions(f"name='{NAME}'")) == 1
    assert version_by_alias(client, NAME, "candidate").version == 1


def test_register_refuses_a_run_that_failed_its_gate(client):
    with pytest.raises(GateFailedError, match="evaluate"):
        register_candidate(client, TOY, trained_run(0.9, gate_passed=False))
    assert client.search_model_versions(f"name='{NAME}'") == []


def test_register_refuses_another_models_run(client):
    with pytest.raises(BadInputError, match="a run of credit_risk_scorer, not of toy_model; nothing registered"):
        register_candidate(client, TOY, trained_run(0.9, model="credit_risk_scorer"))
    assert client.search_model_versions(f"name='{NAME}'") == []


def test_first_promotion_then_champion_challenger(client):
    register_candidate(client, TOY, trained_run(0.90))
    assert promote_candidate(client, TOY, 1, TOLERANCE, champion_scoring(0.0))["promoted"]

    register_candidate(client, TOY, trained_run(0.895))
    within_tolerance = promote_candidate(client, TOY, 2, TOLERANCE, champion_scoring(0.90))
    assert within_tolerance["promoted"] and within_tolerance["previous_version"] == 1
    assert (production(client), version_by_alias(client, NAME, "previous").version) == (2, 1)

    register_candidate(client, TOY, trained_run(0.70))
    worse = promote_candidate(client, TOY, 3, TOLERANCE, champion_scoring(0.895))
    assert not worse["promoted"] and "beyond tolerance 0.01" in worse["reason"]
    assert production(client) == 2


def test_promotion_is_safe_to_repeat(client):
    register_candidate(client, TOY, trained_run(0.9))
    promote_candidate(client, TOY, 1, TOLERANCE, champion_scoring(0.0))
    again = promote_candidate(client, TOY, 1, TOLERANCE, champion_scoring(1.0))
    assert again["promoted"] and again["reason"] == "already production"
    assert version_by_alias(client, NAME, "previous") is None


def test_failing_champion_scoring_leaves_production_in_place(client):
    register_candidate(client, TOY, trained_run(0.9))
    promote_candidate(client, TOY, 1, TOLERANCE, champion_scoring(0.0))
    register_candidate(client, TOY, trained_run(0.95))

    def broken(champion, run_id):
        raise BadInputError("production v1 cannot score the candidate's test split")

    with pytest.raises(BadInputError):
        promote_candidate(client, TOY, 2, TOLERANCE, broken)
    assert production(client) == 1 and version_by_alias(client, NAME, "previous") is None


def test_promote_refuses_ungated_version(client):
    run_id = trained_run(0.9)
    register_candidate(client, TOY, run_id)
    client.set_tag(run_id, "nivesh.gate.evaluate", "failed")  # re-evaluated with stricter thresholds
    with pytest.raises(GateFailedError):
        promote_candidate(client, TOY, 1, TOLERANCE, champion_scoring(0.0))
    assert production(client) is None


def test_rollback_moves_production_back_once(client):
    for version, score in ((1, 0.9), (2, 0.91)):
        register_candidate(client, TOY, trained_run(score))
        promote_candidate(client, TOY, version, TOLERANCE, champion_scoring(0.9))
    assert rollback_production(client, NAME) == {"model": NAME, "production_version": 1, "rolled_back_version": 2}
    assert client.get_model_version(NAME, "2").tags["nivesh.rolled_back"] == "true"
    with pytest.raises(BadInputError, match="production stays v1"):
        rollback_production(client, NAME)
    assert production(client) == 1


def test_unknown_version_is_bad_input(client):
    register_candidate(client, TOY, trained_run(0.9))
    with pytest.raises(BadInputError, match="--version 9: toy_model has no such version"):
        promote_candidate(client, TOY, 9, TOLERANCE, champion_scoring(0.0))


def test_an_error_metric_promotes_the_lower_one(client):
    """MAPE-like metrics: a candidate may exceed the champion's error by the tolerance, not more."""
    errors = dataclasses.replace(TOY, promotion=Promotion("test_score", tolerance=0.01, higher_is_better=False))
    register_candidate(client, errors, trained_run(0.20))
    assert promote_candidate(client, errors, 1, TOLERANCE, champion_scoring(0.0))["promoted"]
    register_candidate(client, errors, trained_run(0.215))
    worse = promote_candidate(client, errors, 2, TOLERANCE, champion_scoring(0.20))
    assert not worse["promoted"] and "worse than production v1" in worse["reason"]
    register_candidate(client, errors, trained_run(0.205))
    assert promote_candidate(client, errors, 3, TOLERANCE, champion_scoring(0.20))["promoted"]
    assert production(client) == 3
