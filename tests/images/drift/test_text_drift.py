"""`nivesh-drift check` on a text model: descriptors (length, tokens, out-of-vocabulary share) and labels."""

import json

import pandas as pd
import pytest

from steps import run_step

MODEL = "intent_classifier"


@pytest.fixture(scope="module")
def production(tmp_path_factory, trained_registry):
    """A copy of the session's registry, where intent_classifier v1, trained on `intents_data`, holds production."""
    return trained_registry.copy(tmp_path_factory.mktemp("text-drift-store"), MODEL)


def check(current, env):
    return run_step("nivesh-drift", "check", "--model", MODEL, "--current", current, env=env)


def test_a_resample_of_the_same_language_is_not_drift(production, tmp_path):
    resample = tmp_path / "resample.jsonl"
    made = run_step("nivesh-intent", "sample-data", "--out", resample, "--per-intent", 20, "--seed", 99, env=production)
    assert made.exit_code == 0
    run = check(resample, production)
    assert run.exit_code == 0, run.stderr[-2000:]
    assert run.result["dataset_drift"] is False
    assert run.result["retrain"] is True and run.result["reason"] == "data changed since production was trained"


def test_new_language_and_a_new_mix_of_intents_is_drift(production, intents_data, tmp_path):
    examples = pd.read_json(intents_data, lines=True)
    hinglish = "bhai jaldi se yeh kaam karo na, urgent hai yaar, kal tak chahiye pakka"
    favoured = examples[examples["intent"].isin(["fraud_report", "card_block", "upi_issue"])]
    mix = pd.concat([examples, favoured, favoured])  # every intent still there, three of them three times as often
    shifted = mix.assign(text=mix["text"] + " " + hinglish)
    path = tmp_path / "shifted.jsonl"
    path.write_text("\n".join(json.dumps(record) for record in shifted.to_dict("records")))
    run = check(path, production)
    assert run.exit_code == 0, run.stderr[-2000:]
    assert run.result["dataset_drift"] is True and run.result["retrain"] is True
    drifted = {column["column"] for column in run.result["drifted_columns"]}
    assert {"text_length", "token_count", "oov_share", "intent"} <= drifted


def test_three_intents_only_are_stopped_before_drift_is_measured(production, intents_data, tmp_path):
    examples = pd.read_json(intents_data, lines=True)
    three = examples[examples["intent"].isin(["fraud_report", "card_block", "upi_issue"])]
    path = tmp_path / "three.jsonl"
    path.write_text("\n".join(json.dumps(record) for record in three.to_dict("records")))
    run = check(path, production)
    assert run.exit_code == 3 and "does not cover what production v1 was trained on" in run.result["error"]
    assert "and 19 more" in run.result["error"]  # 21 intents lost, 3 far too common: five named, 19 counted


def test_unchanged_text_data_needs_no_retraining(production, intents_data):
    run = check(intents_data, production)
    assert run.result["retrain"] is False and run.result["data_changed"] is False
