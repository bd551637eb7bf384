"""Every `nivesh-ner` subcommand, run for real on small data, and its bad input."""

import json

import mlflow
import pandas as pd
import pytest

from nivesh_ner.evaluation import load_model
from registry_state import aliases, client_for, load_from_store, run_count
from steps import run_step

MODEL = "financial_ner"


def ner(*args, env):
    return run_step("nivesh-ner", *args, env=env)


def test_sample_data_is_annotated_banking_language(annotated_data):
    messages = pd.read_json(annotated_data, lines=True)
    labels = messages["entities"].explode().dropna().map(lambda span: span[2])
    assert set(labels) == {"AMOUNT", "MERCHANT", "DATE", "ACCOUNT", "CATEGORY"}
    assert messages["text"].nunique() > 0.9 * len(messages), "varied messages, not repeated ones"
    for text, spans in zip(messages["text"], messages["entities"], strict=True):
        assert all(text[start:end].strip() == text[start:end] for start, end, _ in spans)


def test_validate_counts_entities_per_label(annotated_data, step_env):
    run = ner("validate", "--data", annotated_data, env=step_env)
    assert run.exit_code == 0, run.stderr
    assert run.result["rows"] == 300 and sum(run.result["per_label"].values()) == run.result["entities"]


def test_train_logs_pipeline_lineage_and_progress(trained):
    env, run = trained
    assert run.result["base_pipeline"] == "blank:en" and run.result["validation_entity_f1"] > 0.8
    logged = client_for(env).get_run(run.result["run_id"])
    assert logged.data.tags["nivesh.data.sha256"] == run.result["data_sha256"]
    assert logged.data.tags["nivesh.base_pipeline"] == "blank:en"
    assert {"evaluation", "reference"} <= {a.path for a in client_for(env).list_artifacts(run.result["run_id"])}
    assert "epoch 1/6 loss" in run.stderr and "validation entity F1" in run.stderr


def test_evaluate_register_promote_and_recognise(trained, production):
    env, run = trained
    run_id = run.result["run_id"]
    evaluated = production.gates["evaluate"]
    # above the gate, and below 1.0: unseen shops and annotators who disagree make the sample data judge a model
    assert 0.8 <= evaluated.result["metrics"]["test_entity_f1"] < 0.99
    assert set(evaluated.result["per_label_f1"]) == {"AMOUNT", "MERCHANT", "DATE", "ACCOUNT", "CATEGORY"}
    metrics = client_for(env).get_run(run_id).data.metrics
    assert {"test_f1_AMOUNT", "test_precision_MERCHANT", "test_recall_DATE"} <= set(metrics)
    assert production.registered.result["version"] == 1 and production.promoted.result["promoted"]
    assert ner("register", "--run-id", run_id, env=env).result["version"] == 1  # once: the same version again
    assert ner("promote", "--version", 1, env=env).result["reason"] == "already production"
    assert aliases(env, MODEL) == {"production": 1}
    nothing_to_roll_back = ner("rollback", env=env)
    assert nothing_to_roll_back.exit_code == 2 and "no 'previous' version" in nothing_to_roll_back.result["error"]
    assert aliases(env, MODEL) == {"production": 1}

    served = load_from_store(env, f"models:/{MODEL}@production", mlflow.pyfunc.load_model)  # as the app would
    text = "Rs. 2,500 debited from HDFC savings account on 12 March at Swiggy."
    (entities,) = served.predict(pd.DataFrame({"text": [text]}))["entities"]
    assert {entity["label"] for entity in entities} >= {"AMOUNT", "ACCOUNT", "DATE"}  # a 6-epoch model may miss one
    assert all(text[entity["start"] : entity["end"]] == entity["text"] for entity in entities)


@pytest.fixture(scope="module")
def one_epoch(trained, annotated_data):
    env, _ = trained
    run = ner("train", "--data", annotated_data, "--epochs", "1", env=env)
    assert run.exit_code == 0, run.stderr[-2000:]
    return run


def test_a_failing_gate_registers_nothing(trained, one_epoch):
    env, _ = trained
    versions = len(client_for(env).search_model_versions(f"name='{MODEL}'"))
    gated = ner("evaluate", "--run-id", one_epoch.result["run_id"], "--min-entity-f1", "1.0", env=env)
    assert gated.exit_code == 3, gated.stderr[-2000:]
    assert gated.result["gate"]["failed"][0]["metric"] == "test_entity_f1"
    assert ner("register", "--run-id", one_epoch.result["run_id"], env=env).exit_code == 3
    assert len(client_for(env).search_model_versions(f"name='{MODEL}'")) == versions


def _good(count):
    text = "paid Rs 500 at Swiggy"
    return [{"text": text, "entities": [[5, 11, "AMOUNT"], [15, 21, "MERCHANT"]]} for _ in range(count)]


def _write(path, records):
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


@pytest.mark.parametrize(
    ("bad", "named"),
    [
        ({"text": "paid Rs 500 at Swiggy", "entities": [[5, 9, "AMOUNT"]]}, "does not start and end on token"),
        ({"text": "paid Rs 500 at Swiggy", "entities": [[5, 11, "AMOUNT"], [8, 11, "AMOUNT"]]}, "overlap"),
        ({"text": "paid Rs 500 at Swiggy", "entities": [[15, 40, "MERCHANT"]]}, "outside the text (length 21)"),
        ({"text": "paid Rs 500 at Swiggy", "entities": [[15, 21, "SHOP"]]}, "unknown label 'SHOP'"),
        ({"text": "", "entities": []}, "`text` is missing, empty"),
        ({"text": "paid", "entities": "AMOUNT"}, "`entities` must be a list"),
    ],
    ids=["misaligned", "overlapping", "out of range", "unknown label", "empty text", "entities not a list"],
)
def test_bad_spans_are_refused_naming_the_line(tmp_path, step_env, bad, named):
    data = _write(tmp_path / "bad.jsonl", [*_good(55), bad, *_good(3)])
    for command in ("validate", "train"):
        run = ner(command, "--data", data, env=step_env)
        assert run.exit_code == 2, run.stderr[-2000:]
        assert run.result["error"].startswith(f"{data}: line 56: ") and named in run.result["error"]
        assert len(run.error_lines) == 1
    assert run_count(step_env) == 0


def test_too_few_records_and_an_unknown_base_pipeline(tmp_path, step_env):
    few = ner("validate", "--data", _write(tmp_path / "few.jsonl", _good(10)), env=step_env)
    assert few.exit_code == 2 and "10 records; at least 50" in few.result["error"]
    data = _write(tmp_path / "good.jsonl", _good(60))
    missing = ner("train", "--data", data, "--base-pipeline", str(tmp_path / "no-such-pipeline"), env=step_env)
    assert missing.exit_code == 2 and "not an installed spaCy pipeline" in missing.result["error"]
    assert run_count(step_env) == 0


def test_a_trained_pipeline_directory_is_fine_tuned(tmp_path, trained, one_epoch, annotated_data):
    """`--base-pipeline DIR`: a saved pipeline with an entity recognizer is trained further, not reset."""
    env, run = trained
    load_from_store(env, run.result["model_uri"], load_model).to_disk(tmp_path / "base")
    tuned = ner("train", "--data", annotated_data, "--base-pipeline", tmp_path / "base", "--epochs", "1", env=env)
    assert tuned.exit_code == 0, tuned.stderr[-2000:]
    assert tuned.result["base_pipeline"] == str(tmp_path / "base")
    assert "Created vocabulary" not in tuned.stderr  # resumed, not initialised afresh
    assert tuned.result["validation_entity_f1"] > one_epoch.result["validation_entity_f1"]
