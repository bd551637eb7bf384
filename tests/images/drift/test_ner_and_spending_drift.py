"""`nivesh-drift check` for the NER (text and entity labels) and the spending predictor (amounts, categories)."""

import json

import pandas as pd
import pytest

from steps import run_step


@pytest.fixture(scope="module")
def store(tmp_path_factory, trained_registry):
    """A copy of the session's registry, where both models, trained on their sample data, hold production."""
    return trained_registry.copy(tmp_path_factory.mktemp("drift-models"), "financial_ner", "spending_predictor")


def check(model: str, current, env):
    run = run_step("nivesh-drift", "check", "--model", model, "--current", current, env=env)
    assert run.exit_code == 0, run.stderr[-2000:]
    return run.result


@pytest.mark.parametrize(
    ("model", "data"), [("financial_ner", "annotated_data"), ("spending_predictor", "spending_data")]
)
def test_the_training_file_itself_is_unchanged_and_not_drifted(store, request, model, data):
    result = check(model, request.getfixturevalue(data), store)
    assert result["data_changed"] is False and result["dataset_drift"] is False and result["retrain"] is False


def test_much_longer_messages_with_fewer_amounts_drift(store, annotated_data, tmp_path):
    messages = pd.read_json(annotated_data, lines=True)
    filler = " please check this for me as soon as you can, it is quite urgent and I am worried about it"
    no_amounts = messages[messages["entities"].map(lambda spans: all(label != "AMOUNT" for _, _, label in spans))]
    mix = pd.concat([messages, no_amounts, no_amounts])  # every label still there, amounts rarer
    shifted = mix.assign(text=mix["text"] + filler)
    path = tmp_path / "shifted.jsonl"
    path.write_text("".join(json.dumps(record) + "\n" for record in shifted.to_dict("records")))
    result = check("financial_ner", path, store)
    assert result["dataset_drift"] is True
    assert {"text_length", "token_count", "entities"} <= {column["column"] for column in result["drifted_columns"]}


def test_messages_without_amounts_are_stopped_before_drift_is_measured(store, annotated_data, tmp_path):
    messages = pd.read_json(annotated_data, lines=True)
    no_amounts = messages[messages["entities"].map(lambda spans: all(label != "AMOUNT" for _, _, label in spans))]
    path = tmp_path / "no-amounts.jsonl"
    path.write_text("".join(json.dumps(record) + "\n" for record in no_amounts.to_dict("records")))
    run = run_step("nivesh-drift", "check", "--model", "financial_ner", "--current", path, env=store)
    assert run.exit_code == 3 and "AMOUNT: none (production was trained on" in run.result["error"]


def test_spending_mostly_on_travel_at_triple_amounts_drifts(store, spending_data, tmp_path):
    transactions = pd.read_csv(spending_data)
    travel = transactions[transactions["category"] == "travel"]
    shifted = pd.concat([transactions, travel, travel]).assign(amount=lambda table: table["amount"] * 3)
    path = tmp_path / "shifted.csv"
    shifted.to_csv(path, index=False)
    result = check("spending_predictor", path, store)
    assert result["dataset_drift"] is True
    assert {"amount", "category"} <= {column["column"] for column in result["drifted_columns"]}
