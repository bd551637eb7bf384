import os

import pytest

from steps import run_step, step_environment

# Airflow reads its settings at import: point it at a throwaway home before any test imports it.
os.environ.setdefault("AIRFLOW_HOME", "/tmp/nivesh-tests-airflow")
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")


@pytest.fixture
def step_env(tmp_path):
    return step_environment(tmp_path)


@pytest.fixture(scope="session")
def credit_data(tmp_path_factory):
    path = tmp_path_factory.mktemp("credit") / "applications.csv"
    env = step_environment(path.parent)
    assert run_step("nivesh-credit-risk", "sample-data", "--out", path, "--rows", 1500, env=env).exit_code == 0
    return path


@pytest.fixture(scope="session")
def transactions_data(tmp_path_factory):
    path = tmp_path_factory.mktemp("anomaly") / "transactions.csv"
    env = step_environment(path.parent)
    run = run_step("nivesh-anomaly", "sample-data", "--out", path, "--users", 60, "--days", 40, env=env)
    assert run.exit_code == 0
    return path


@pytest.fixture(scope="session")
def intents_data(tmp_path_factory):
    path = tmp_path_factory.mktemp("intent") / "intents.jsonl"
    run = run_step("nivesh-intent", "sample-data", "--out", path, "--per-intent", 20, env=step_environment(path.parent))
    assert run.exit_code == 0, run.stderr
    return path


@pytest.fixture(scope="session")
def annotated_data(tmp_path_factory):
    path = tmp_path_factory.mktemp("ner") / "annotated.jsonl"
    run = run_step("nivesh-ner", "sample-data", "--out", path, "--rows", 300, env=step_environment(path.parent))
    assert run.exit_code == 0, run.stderr
    return path


@pytest.fixture(scope="session")
def spending_data(tmp_path_factory):
    path = tmp_path_factory.mktemp("spending") / "transactions.csv"
    env = step_environment(path.parent)
    run = run_step("nivesh-spending", "sample-data", "--out", path, "--users", 40, "--days", 400, env=env)
    assert run.exit_code == 0, run.stderr
    return path


@pytest.fixture(scope="session")
def tiny_distilbert(tmp_path_factory, intents_data):
    """A one-layer DistilBERT and WordPiece tokenizer built from a config: what a hub id would give, offline."""
    import pandas as pd
    from transformers import DistilBertConfig, DistilBertForSequenceClassification

    from nivesh_intent.base_model import small_distilbert

    texts = pd.read_json(intents_data, lines=True)["text"].tolist()
    tokenizer = small_distilbert(texts, {"num_labels": 2}).tokenizer
    config = DistilBertConfig(
        vocab_size=len(tokenizer), dim=64, hidden_dim=128, n_layers=1, n_heads=2, max_position_embeddings=64
    )
    directory = tmp_path_factory.mktemp("tiny-distilbert")
    DistilBertForSequenceClassification(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory
