"""Registry moves against a real MLflow SQLite store; the scorer is the injected policy input."""

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient
from sklearn.dummy import DummyClassifier

from nivesh_common.errors import BadInputError, GateFailedError
from nivesh_common.gates import evaluate_gate, record_gate
from nivesh_common.promotion import promote_candidate
from nivesh_common.registry import register_candidate, rollback_production, version_by_alias
from nivesh_common.registry_lock import ACQUIRED_AT_TAG, STALE_AFTER_S, RegistryBusyError, lock_name, registry_lock
from nivesh_contract.declaration import Promotion, at_least
from nivesh_contract.declaration_file import load_declaration
from nivesh_contract.names import MODEL_TAG, MODEL_URI_TAG, ROLLOUT_TAG, STAGED_AT_TAG, STAGING
from nivesh_contract.rollout import Rollout
from registry_state import client_for, mlflow_pointed_at
from steps import empty_store

NAME = "toy_model"
TOY_DECLARATION = """
name = "toy_model"
schedule = "@weekly"
data_file = "toy/data.csv"
description = "A toy model for registry tests."
owner = "Toy team (#toys)"
inputs = "x: a number"
outputs = "label: 0 or 1"
summary_metrics = ["test_score"]
image = { directory = "toy", size_target_mb = 100 }
promotion = { metric = "test_score", tolerance = 0.01 }
thresholds = [{ metric = "s", at_least = 0.5 }]
"""
TOLERANCE = 0.01
THRESHOLD = at_least("s", 0.5)


@pytest.fixture(scope="module")
def declaration_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("toy") / "toy_model.toml"
    path.write_text(TOY_DECLARATION)
    return path


@pytest.fixture(scope="module")
def toy(declaration_file):
    return load_declaration(declaration_file)


@pytest.fixture
def client(tmp_path):
    """MLflow in this process pointed at the test's store, and put back afterwards: a registry URI left set sends a
    later test's registry calls in the same worker to this store (it once failed the cluster smoke test)."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    with mlflow_pointed_at(uri):
        mlflow.set_experiment("toy")
        yield MlflowClient(uri, uri)


def test_a_store_mlflow_was_pointed_at_for_a_while_leaves_later_clients_on_theirs(tmp_path, monkeypatch):
    """A client given its URI writes there afterwards, not to the working directory's store (a registry URI once
    "put back" to the resolved default sent later tests' registrations to ./mlflow.db)."""
    monkeypatch.chdir(tmp_path)
    first, second = (tmp_path / "first.db", tmp_path / "second.db")
    for database in (first, second):
        shutil.copyfile(empty_store(), database)
    with mlflow_pointed_at(f"sqlite:///{first}"):
        pass
    MlflowClient(f"sqlite:///{second}").create_registered_model("later")
    assert not (tmp_path / "mlflow.db").exists()
    assert [
        model.name for model in client_for({"MLFLOW_TRACKING_URI": f"sqlite:///{second}"}).search_registered_models()
    ] == ["later"]


def trained_run(score: float, gate_passed: bool = True, model: str = NAME, tags: dict[str, str] | None = None) -> str:
    with mlflow.start_run(tags={MODEL_TAG: model, **(tags or {})}) as run:
        model = DummyClassifier().fit([[0], [1]], [0, 1])
        # Requirements given, not inferred: inferring them loads the model in a subprocess, seconds a test.
        info = mlflow.sklearn.log_model(model, name="model", pip_requirements=["scikit-learn"])
        mlflow.set_tag(MODEL_URI_TAG, info.model_uri)
        mlflow.log_metric("test_score", score)
    gate = evaluate_gate("evaluate", {"s": 1.0 if gate_passed else 0.0}, {THRESHOLD: 0.5})
    record_gate(run.info.run_id, gate)
    return run.info.run_id


def champion_scoring(score: float):
    """Any version on any evaluation set scores `score`."""
    return lambda model_uri, model_run_id, evaluation_run_id: score


def production(client) -> int | None:
    version = version_by_alias(client, NAME, "production")
    return version.version if version else None


def test_register_is_idempotent_and_sets_candidate(client, toy):
    run_id = trained_run(0.9)
    first = register_candidate(client, toy, run_id)
    second = register_candidate(client, toy, run_id)
    assert first["version"] == second["version"] == 1
    assert first["newly_registered"] and not second["newly_registered"]
    assert len(client.search_model_versions(f"name='{NAME}'")) == 1
    assert version_by_alias(client, NAME, "candidate").version == 1


def test_the_registered_model_says_what_it_is_from_its_declaration(client, toy):
    register_candidate(client, toy, trained_run(0.9))
    description = client.get_registered_model(NAME).description
    assert description.startswith("A toy model for registry tests.\n\n")
    for line in ("**Inputs:** x: a number", "**Outputs:** label: 0 or 1", "**Owner:** Toy team (#toys)"):
        assert f"- {line}\n" in description
    assert "`@weekly` (cron, UTC), DAG `toy_model_training`, on `toy/data.csv`" in description
    assert "not worse than production on test_score beyond 0.01" in description


def test_candidate_always_means_waiting(client, toy):
    """Promotion takes `candidate` off the version it moved; a newer candidate keeps it; registering production's
    run again does not make it a candidate."""
    first_run = trained_run(0.9)
    first = register_candidate(client, toy, first_run)["version"]
    promote_candidate(client, toy, first, TOLERANCE, champion_scoring(0.0))
    assert version_by_alias(client, NAME, "candidate") is None
    assert register_candidate(client, toy, first_run)["alias"] == "production"
    assert version_by_alias(client, NAME, "candidate") is None

    second = register_candidate(client, toy, trained_run(0.95))["version"]
    third = register_candidate(client, toy, trained_run(0.96))["version"]
    promote_candidate(client, toy, second, TOLERANCE, champion_scoring(0.0))
    assert version_by_alias(client, NAME, "candidate").version == third


def test_each_version_says_what_it_is_in_the_registry(client, toy):
    """Data, rows, key metrics, gates and what it would replace, on the registered models page; trained_date."""
    first = register_candidate(client, toy, trained_run(0.9))
    version = client.get_model_version(NAME, "1")
    assert "test_score 0.9" in version.description and "Gates: evaluate passed" in version.description
    assert version.description.endswith("First candidate for production.")
    assert version.tags["trained_date"] == datetime.now(UTC).date().isoformat()
    assert promote_candidate(client, toy, first["version"], TOLERANCE, champion_scoring(0.0))["promoted"]
    register_candidate(client, toy, trained_run(0.8))
    assert client.get_model_version(NAME, "2").description.endswith("Would replace production v1.")


def test_a_version_says_what_reproducing_it_needs(client, toy):
    tags = {"nivesh.reproduce": "seed 42; 2 CPU threads; numpy 2.3.4", "nivesh.data.sha256": "ab" * 32}
    register_candidate(client, toy, trained_run(0.9, tags=tags))
    description = client.get_model_version(NAME, "1").description
    assert "Reproduce: the same data (sha256 abababababab), code (" in description
    assert description.endswith(") and seed 42; 2 CPU threads; numpy 2.3.4.")


def test_a_version_leads_to_the_airflow_run_that_trained_it_in_one_click(client, toy, monkeypatch):
    """The training run's DAG and run id as version tags; with the deployment's Airflow URL, the description ends with
    a markdown link to the run's page in the Airflow 3 UI, the run id URL-quoted (`+`, `:`)."""
    run_id = "manual__2026-11-27T10:00:00+00:00"
    airflow = {"nivesh.airflow.dag_id": "toy_training", "nivesh.airflow.run_id": run_id, "nivesh.airflow.task_id": "x"}
    monkeypatch.setenv("NIVESH_AIRFLOW_BASE_URL", "http://127.0.0.1:8080/")
    register_candidate(client, toy, trained_run(0.9, tags=airflow))
    version = client.get_model_version(NAME, "1")
    assert version.tags["nivesh.airflow.dag_id"] == "toy_training"
    assert version.tags["nivesh.airflow.run_id"] == run_id
    assert "nivesh.airflow.task_id" not in version.tags
    link = "http://127.0.0.1:8080/dags/toy_training/runs/manual__2026-11-27T10%3A00%3A00%2B00%3A00"
    assert version.description.endswith(f"First candidate for production. [Airflow run]({link})")

    monkeypatch.setenv("NIVESH_AIRFLOW_BASE_URL", "")  # Airflow's address unknown: the tags, no link
    register_candidate(client, toy, trained_run(0.8, tags=airflow))
    unlinked = client.get_model_version(NAME, "2")
    assert unlinked.tags["nivesh.airflow.run_id"] == run_id and "Airflow run" not in unlinked.description


def test_register_refuses_a_run_that_failed_its_gate(client, toy):
    with pytest.raises(GateFailedError, match="evaluate"):
        register_candidate(client, toy, trained_run(0.9, gate_passed=False))
    assert client.search_model_versions(f"name='{NAME}'") == []


def test_register_refuses_another_models_run(client, toy):
    with pytest.raises(BadInputError, match="a run of credit_risk_scorer, not of toy_model; nothing registered"):
        register_candidate(client, toy, trained_run(0.9, model="credit_risk_scorer"))
    assert client.search_model_versions(f"name='{NAME}'") == []


def test_first_promotion_then_champion_challenger(client, toy):
    register_candidate(client, toy, trained_run(0.90))
    assert promote_candidate(client, toy, 1, TOLERANCE, champion_scoring(0.0))["promoted"]

    register_candidate(client, toy, trained_run(0.895))
    within_tolerance = promote_candidate(client, toy, 2, TOLERANCE, champion_scoring(0.90))
    assert within_tolerance["promoted"] and within_tolerance["previous_version"] == 1
    assert (production(client), version_by_alias(client, NAME, "previous").version) == (2, 1)

    register_candidate(client, toy, trained_run(0.70))
    worse = promote_candidate(client, toy, 3, TOLERANCE, champion_scoring(0.895))
    assert not worse["promoted"] and "beyond tolerance 0.01" in worse["reason"]
    assert production(client) == 2


def test_a_staged_model_s_winner_becomes_staging_beside_production(client, toy):
    """Declared shadow or canary: the first version has nothing to be judged against and becomes production; a
    later winner becomes `staging` and production stays until it is judged on live requests."""
    staged = dataclasses.replace(toy, rollout=Rollout(strategy="canary", share_percent=10, prediction="label"))
    register_candidate(client, staged, trained_run(0.90))
    assert promote_candidate(client, staged, 1, TOLERANCE, champion_scoring(0.0))["production_version"] == 1
    register_candidate(client, staged, trained_run(0.92))
    outcome = promote_candidate(client, staged, 2, TOLERANCE, champion_scoring(0.90))
    assert (outcome["promoted"], outcome["production_version"], outcome["staging_version"]) == (False, 1, 2)
    assert "staged: v2 answers 10% of users (canary) beside production" in outcome["reason"]
    assert (production(client), version_by_alias(client, NAME, STAGING).version) == (1, 2)
    assert version_by_alias(client, NAME, "candidate") is None
    tags = client.get_model_version(NAME, "2").tags
    assert tags[ROLLOUT_TAG] == "staged" and datetime.fromisoformat(tags[STAGED_AT_TAG]).tzinfo is not None


def test_promotion_is_safe_to_repeat(client, toy):
    register_candidate(client, toy, trained_run(0.9))
    promote_candidate(client, toy, 1, TOLERANCE, champion_scoring(0.0))
    again = promote_candidate(client, toy, 1, TOLERANCE, champion_scoring(1.0))
    assert again["promoted"] and again["reason"] == "already production"
    assert version_by_alias(client, NAME, "previous") is None


def test_failing_champion_scoring_leaves_production_in_place(client, toy):
    register_candidate(client, toy, trained_run(0.9))
    promote_candidate(client, toy, 1, TOLERANCE, champion_scoring(0.0))
    register_candidate(client, toy, trained_run(0.95))

    def broken(model_uri, model_run_id, evaluation_run_id):
        raise BadInputError("evaluation data of run x: missing feature column(s) income")

    kept = promote_candidate(client, toy, 2, TOLERANCE, broken)
    assert not kept["promoted"] and kept["reason"] == (
        "v2 cannot be judged against production: evaluation data of run x: missing feature column(s) income"
    )
    assert production(client) == 1 and version_by_alias(client, NAME, "previous") is None


def test_promote_refuses_ungated_version(client, toy):
    run_id = trained_run(0.9)
    register_candidate(client, toy, run_id)
    client.set_tag(run_id, "nivesh.gate.evaluate", "failed")  # re-evaluated with stricter thresholds
    with pytest.raises(GateFailedError):
        promote_candidate(client, toy, 1, TOLERANCE, champion_scoring(0.0))
    assert production(client) is None


def test_rollback_moves_production_back_once(client, toy):
    for version, score in ((1, 0.9), (2, 0.91)):
        register_candidate(client, toy, trained_run(score))
        promote_candidate(client, toy, version, TOLERANCE, champion_scoring(0.9))
    assert rollback_production(client, NAME) == {"model": NAME, "production_version": 1, "rolled_back_version": 2}
    assert client.get_model_version(NAME, "2").tags["nivesh.rolled_back"] == "true"
    with pytest.raises(BadInputError, match="production stays v1"):
        rollback_production(client, NAME)
    assert production(client) == 1


def test_rollback_to_a_chosen_version_that_passed_its_gates(client, toy):
    for version in (1, 2, 3):
        register_candidate(client, toy, trained_run(0.9))
        promote_candidate(client, toy, version, TOLERANCE, champion_scoring(0.9))
    assert rollback_production(client, NAME, 1, toy.gate_names)["production_version"] == 1
    assert production(client) == 1 and version_by_alias(client, NAME, "previous") is None
    assert client.get_model_version(NAME, "3").tags["nivesh.rolled_back"] == "true"


def test_rollback_refuses_a_version_that_cannot_serve(client, toy):
    for version in (1, 2):
        register_candidate(client, toy, trained_run(0.9))
        promote_candidate(client, toy, version, TOLERANCE, champion_scoring(0.9))
    client.set_tag(client.get_model_version(NAME, "1").run_id, "nivesh.gate.evaluate", "failed")
    with pytest.raises(GateFailedError, match="has not passed gate"):
        rollback_production(client, NAME, 1, toy.gate_names)
    with pytest.raises(BadInputError, match="--to 2: v2 is already toy_model's production version"):
        rollback_production(client, NAME, 2, toy.gate_names)
    with pytest.raises(BadInputError, match="--to 7: toy_model has no such version"):
        rollback_production(client, NAME, 7, toy.gate_names)
    assert production(client) == 2 and int(version_by_alias(client, NAME, "previous").version) == 1


def test_rollback_without_production_is_bad_input(client, toy):
    register_candidate(client, toy, trained_run(0.9))
    with pytest.raises(BadInputError, match="toy_model: there is no production version to roll back"):
        rollback_production(client, NAME, 1, toy.gate_names)


def test_unknown_version_is_bad_input(client, toy):
    register_candidate(client, toy, trained_run(0.9))
    with pytest.raises(BadInputError, match="--version 9: toy_model has no such version"):
        promote_candidate(client, toy, 9, TOLERANCE, champion_scoring(0.0))


def test_an_error_metric_promotes_the_lower_one(client, toy):
    """MAPE-like metrics: a candidate may exceed the champion's error by the tolerance, not more."""
    errors = dataclasses.replace(toy, promotion=Promotion("test_score", tolerance=0.01, higher_is_better=False))
    register_candidate(client, errors, trained_run(0.20))
    assert promote_candidate(client, errors, 1, TOLERANCE, champion_scoring(0.0))["promoted"]
    register_candidate(client, errors, trained_run(0.215))
    worse = promote_candidate(client, errors, 2, TOLERANCE, champion_scoring(0.20))
    assert not worse["promoted"] and "worse than production v1" in worse["reason"]
    register_candidate(client, errors, trained_run(0.205))
    assert promote_candidate(client, errors, 3, TOLERANCE, champion_scoring(0.20))["promoted"]
    assert production(client) == 3


def test_a_candidate_that_loses_on_productions_test_split_is_kept(client, toy):
    """Degenerate data (one intent): the candidate shines on its own split and fails on production's."""
    v1_run = trained_run(0.9)
    register_candidate(client, toy, v1_run)
    promote_candidate(client, toy, 1, TOLERANCE, champion_scoring(0.0))
    register_candidate(client, toy, trained_run(1.0))

    def scores(model_uri, model_run_id, evaluation_run_id):
        on_production_split = evaluation_run_id == v1_run
        candidate = not model_uri.endswith("/1")
        # (on production's split, the candidate scored): production's own split tells the candidate's loss.
        return {(True, True): 0.04, (True, False): 0.9, (False, False): 0.5}[(on_production_split, candidate)]

    kept = promote_candidate(client, toy, 2, TOLERANCE, scores)
    assert not kept["promoted"] and production(client) == 1
    assert "on production test split 0.0400 against 0.9000" in kept["reason"]
    assert kept["scores"] == {
        "candidate_test_split": {"candidate": 1.0, "production": 0.5},
        "production_test_split": {"candidate": 0.04, "production": 0.9},
    }


def test_a_rolled_back_version_is_promoted_again_only_when_allowed(client, toy):
    for version in (1, 2):
        register_candidate(client, toy, trained_run(0.9))
        promote_candidate(client, toy, version, TOLERANCE, champion_scoring(0.9))
    rollback_production(client, NAME)
    refused = promote_candidate(client, toy, 2, TOLERANCE, champion_scoring(0.9))
    assert not refused["promoted"] and refused["reason"] == (
        "v2 was rolled back; promote it again only with --allow-rolled-back"
    )
    assert production(client) == 1
    assert promote_candidate(client, toy, 2, TOLERANCE, champion_scoring(0.9), allow_rolled_back=True)["promoted"]
    assert production(client) == 2


# Two promotions at once, in two processes: the scorer is slow, as a real one that loads models is, so an
# unserialised pair would both read production v1 and both leave `previous` at v1.
RACER = """
import json, sys, time
from pathlib import Path
from mlflow import MlflowClient
from nivesh_common.promotion import promote_candidate
from nivesh_contract.declaration_file import load_declaration

uri, declaration, version = sys.argv[1:]
def slow(model_uri, model_run_id, evaluation_run_id):
    time.sleep(1.5)
    return 0.5
result = promote_candidate(MlflowClient(uri, uri), load_declaration(Path(declaration)), int(version), 0.01, slow)
print(json.dumps(result))
"""


def test_two_promotions_at_once_are_serialised_and_previous_keeps_the_chain(client, toy, declaration_file, tmp_path):
    for _ in range(3):
        register_candidate(client, toy, trained_run(0.9))
    promote_candidate(client, toy, 1, TOLERANCE, champion_scoring(0.0))
    uri = mlflow.get_tracking_uri()
    racers = [
        subprocess.Popen([sys.executable, "-c", RACER, uri, str(declaration_file), version], stdout=subprocess.PIPE)
        for version in ("2", "3")
    ]
    results = [json.loads(racer.communicate(timeout=120)[0].decode().splitlines()[-1]) for racer in racers]
    assert all(result["promoted"] for result in results)
    first, second = sorted(results, key=lambda result: result["previous_version"] == 1, reverse=True)
    assert first["previous_version"] == 1 and second["previous_version"] == first["production_version"]
    assert production(client) == second["production_version"]
    assert int(version_by_alias(client, NAME, "previous").version) == first["production_version"]
    assert not client.search_registered_models(f"name = '{lock_name(NAME)}'"), "the lock is released"


def test_a_held_lock_makes_the_next_move_wait_then_fail_in_one_line(client, toy):
    busy = pytest.raises(RegistryBusyError, match=r"another promotion or rollback holds toy_model.lock \(held by ")
    with registry_lock(client, NAME), busy, registry_lock(client, NAME, wait_s=1):
        pass
    with registry_lock(client, NAME, wait_s=1):
        pass  # released by its holder


def test_a_lock_left_by_a_dead_process_is_broken(client, toy):
    client.create_registered_model(lock_name(NAME), tags={ACQUIRED_AT_TAG: str(time.time() - STALE_AFTER_S - 1)})
    register_candidate(client, toy, trained_run(0.9))
    assert promote_candidate(client, toy, 1, TOLERANCE, champion_scoring(0.0))["promoted"]


def test_a_dry_run_judges_and_moves_nothing(client, toy):
    register_candidate(client, toy, trained_run(0.9))
    first = promote_candidate(client, toy, 1, TOLERANCE, champion_scoring(0.0), dry_run=True)
    assert first["would_promote"] and not first["promoted"] and first["production_version"] is None
    assert production(client) is None
    promote_candidate(client, toy, 1, TOLERANCE, champion_scoring(0.0))
    register_candidate(client, toy, trained_run(0.8))
    worse = promote_candidate(client, toy, 2, TOLERANCE, champion_scoring(0.9), dry_run=True)
    assert worse["dry_run"] and not worse["would_promote"] and "worse than production v1" in worse["reason"]
    assert worse["scores"]["candidate_test_split"] == {"candidate": 0.8, "production": 0.9}
    register_candidate(client, toy, trained_run(0.95))
    better = promote_candidate(client, toy, 3, TOLERANCE, champion_scoring(0.9), dry_run=True)
    assert better["would_promote"] and better["production_version"] == 1 and production(client) == 1
    assert version_by_alias(client, NAME, "previous") is None


def test_sigterm_while_holding_the_lock_releases_it(client, tmp_path):
    """Airflow stops a pod with SIGTERM on a timeout or a task marked failed: a real signal to a real step process.
    Before, the lock stayed registered and the next promotions waited, then failed, until it was 15 minutes old."""
    uri = mlflow.get_tracking_uri()
    holder = subprocess.Popen(
        [sys.executable, str(Path(__file__).parent / "lock_holder.py"), "hold", NAME],
        env=os.environ | {"NIVESH_XCOM_DIR": str(tmp_path), "MLFLOW_TRACKING_URI": uri, "MLFLOW_REGISTRY_URI": uri},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    said = iter(holder.stderr.readline, "")
    assert any(line.startswith("holding") for line in said), holder.communicate(timeout=60)
    assert client.search_registered_models(f"name = '{lock_name(NAME)}'"), "held"
    holder.send_signal(signal.SIGTERM)
    stdout, stderr = holder.communicate(timeout=60)
    assert holder.returncode == 1, stderr
    assert json.loads(stdout.strip().splitlines()[-1])["error"].startswith("stopped by SIGTERM")
    assert not client.search_registered_models(f"name = '{lock_name(NAME)}'"), "released"
